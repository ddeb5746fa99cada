package console

import "maps"

// checkAll finds the fault of every field of in that check refuses. The
// store's checks stop at the first fault; checkAll asks again after mending
// the faulty field with mend[field] (a value the store accepts), until the
// input passes, a field has no mend or an error is not about a field. So a
// form shows all its errors at once, by the store's own rules.
func checkAll[T any](in T, check func(T) error, mend map[string]func(*T)) formErrors {
	mend = maps.Clone(mend)
	fe := formErrors{}
	for range len(mend) + 1 {
		got, ok := asFormErrors(check(in))
		if !ok {
			break
		}
		var field string
		for f, msg := range got {
			field = f
			fe.add(f, msg)
		}
		fix := mend[field]
		if fix == nil {
			break
		}
		fix(&in)
		delete(mend, field) // each field once: a mend that does not mend ends the loop
	}
	return fe
}

// merge adds the errors of more that fe has no error for yet: the first
// message found for a field is the one shown.
func (e formErrors) merge(more formErrors) formErrors {
	for f, msg := range more {
		e.add(f, msg)
	}
	return e
}

// orNil is nil when there is no error, for handlers that test fe != nil.
func (e formErrors) orNil() formErrors {
	if len(e) == 0 {
		return nil
	}
	return e
}
