package a2a

import (
	"encoding/json"
	"testing"
)

// FuzzTranslateEvent: no input panics, and once an event has been through
// one translation, translating it there and back again changes nothing
// (the first pass may drop or default what the other version cannot say).
func FuzzTranslateEvent(f *testing.F) {
	for _, c := range pairCases {
		if c.as == asEvent {
			f.Add([]byte(c.v03))
			f.Add([]byte(c.v10))
		}
	}
	for _, c := range oneWayCases {
		if c.as == asEvent {
			f.Add([]byte(c.in))
		}
	}
	f.Add([]byte(`{"kind":"status-update","status":{"state":"working"},"taskId":"t"}`))
	f.Add([]byte(`{"message":{"role":1,"parts":[{"data":null}]}}`))
	f.Add([]byte(`[]`))

	f.Fuzz(func(t *testing.T, event []byte) {
		for _, dir := range [][2]string{{V03, V10}, {V10, V03}} {
			from, to := dir[0], dir[1]
			a, err := TranslateEvent(from, to, event)
			_, _ = ReadOutcome(from, MethodStream, event)
			_, _ = ReadOutcome(from, MethodGetTask, event)
			if err != nil {
				continue
			}
			if !json.Valid(a) {
				t.Fatalf("%s to %s gave invalid JSON %s", from, to, a)
			}
			if _, err := ReadOutcome(to, MethodStream, a); err != nil {
				t.Fatalf("outcome of translated %s: %v", a, err)
			}
			b, err := TranslateEvent(to, from, a)
			if err != nil {
				t.Fatalf("translated %s back from %s: %v", a, to, err)
			}
			c, err := TranslateEvent(from, to, b)
			if err != nil {
				t.Fatalf("translated %s again: %v", b, err)
			}
			if !sameJSON(t, a, c) {
				t.Fatalf("round trip changed\n%s\ninto\n%s", a, c)
			}
		}
	})
}

// FuzzTranslateParamsAndResults: no params or result of any method, in
// either direction, panics, and what comes out is JSON.
func FuzzTranslateParamsAndResults(f *testing.F) {
	methods := []Method{MethodSend, MethodStream, MethodGetTask, MethodCancelTask, MethodSubscribe, MethodListTasks,
		MethodPushSet, MethodPushGet, MethodPushList, MethodPushDelete, MethodExtendedCard}
	for _, c := range pairCases {
		for i, m := range methods {
			if m == c.m {
				f.Add([]byte(c.v03), uint8(i))
				f.Add([]byte(c.v10), uint8(i))
			}
		}
	}
	f.Add([]byte(fullCard10), uint8(len(methods)-1))
	f.Fuzz(func(t *testing.T, in []byte, which uint8) {
		m := methods[int(which)%len(methods)]
		for _, dir := range [][2]string{{V03, V10}, {V10, V03}} {
			for _, as := range []string{asParams, asResult} {
				out, err := translate(as, dir[0], dir[1], m, in)
				if err == nil && len(out) > 0 && !json.Valid(out) {
					t.Fatalf("%s of %s from %s gave invalid JSON %s", as, m, dir[0], out)
				}
			}
		}
		_ = TaskIDOf(V03, m, in)
		_ = TaskIDOf(V10, m, in)
	})
}
