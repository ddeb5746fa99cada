package a2a

import (
	"strings"
	"testing"
)

const fullCard03 = `{"name":"Echo","description":"d","version":"1.2","protocolVersion":"0.3.0",
	"url":"https://a.example/rpc","preferredTransport":"JSONRPC",
	"additionalInterfaces":[{"url":"https://a.example/rpc","transport":"JSONRPC"},{"url":"https://a.example/grpc","transport":"GRPC"}],
	"capabilities":{"streaming":true,"pushNotifications":false,STH"extensions":[{"uri":"urn:x","required":true,"params":{"a":1}}]},
	"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain","application/json"],
	"skills":[{"id":"s","name":"S","description":"sd","tags":["t"],"examples":["e"],"security":[{"oauth":["read"]}]}],
	"securitySchemes":{
		"key":{"type":"apiKey","in":"query","name":"key","description":"k"},
		"bearer":{"type":"http","scheme":"bearer","bearerFormat":"JWT"},
		"oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://t.example","scopes":{"read":"r"}}},"oauth2MetadataUrl":"https://m.example"},
		"oidc":{"type":"openIdConnect","openIdConnectUrl":"https://o.example"},
		"mtls":{"type":"mutualTLS"}},
	"security":[{"key":[]},{"oauth":["read","write"]}],
	"supportsAuthenticatedExtendedCard":true,
	"provider":{"organization":"Org","url":"https://org.example"},"iconUrl":"https://i.example","documentationUrl":"https://d.example",
	"signatures":[{"protected":"p","signature":"s","header":{"kid":"1"}}]}`

const fullCard10 = `{"name":"Echo","description":"d","version":"1.2",
	"supportedInterfaces":[{"url":"https://a.example/rpc","protocolBinding":"JSONRPC","protocolVersion":"1.0"},
	                       {"url":"https://a.example/grpc","protocolBinding":"GRPC","protocolVersion":"1.0"}],
	"capabilities":{"streaming":true,"pushNotifications":false,"extendedAgentCard":true,"extensions":[{"uri":"urn:x","required":true,"params":{"a":1}}]},
	"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain","application/json"],
	"skills":[{"id":"s","name":"S","description":"sd","tags":["t"],"examples":["e"],"securityRequirements":[{"schemes":{"oauth":{"list":["read"]}}}]}],
	"securitySchemes":{
		"key":{"apiKeySecurityScheme":{"location":"query","name":"key","description":"k"}},
		"bearer":{"httpAuthSecurityScheme":{"scheme":"bearer","bearerFormat":"JWT"}},
		"oauth":{"oauth2SecurityScheme":{"flows":{"clientCredentials":{"tokenUrl":"https://t.example","scopes":{"read":"r"}}},"oauth2MetadataUrl":"https://m.example"}},
		"oidc":{"openIdConnectSecurityScheme":{"openIdConnectUrl":"https://o.example"}},
		"mtls":{"mtlsSecurityScheme":{}}},
	"securityRequirements":[{"schemes":{"key":{"list":[]}}},{"schemes":{"oauth":{"list":["read","write"]}}}],
	"provider":{"organization":"Org","url":"https://org.example"},"iconUrl":"https://i.example","documentationUrl":"https://d.example",
	"signatures":[{"protected":"p","signature":"s","header":{"kid":"1"}}]}`

func TestTranslateAgentCard(t *testing.T) {
	// stateTransitionHistory has no 1.0 counterpart.
	with := strings.Replace(fullCard03, "STH", `"stateTransitionHistory":true,`, 1)
	without := strings.Replace(fullCard03, "STH", "", 1)

	got10, err := TranslateResult(V03, V10, MethodExtendedCard, []byte(with))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, "0.3 to 1.0", got10, fullCard10)
	got03, err := TranslateResult(V10, V03, MethodExtendedCard, []byte(fullCard10))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, "1.0 to 0.3", got03, without)
}

func TestTranslateAgentCardDefaults(t *testing.T) {
	got, err := TranslateResult(V10, V03, MethodExtendedCard, []byte(`{"name":"n",
		"supportedInterfaces":[{"url":"https://a","protocolBinding":"HTTP+JSON","protocolVersion":"1.0","tenant":"t"}],
		"securitySchemes":{"k":{"apiKeySecurityScheme":{"name":"X","location":"somewhere"}},
		                   "o":{"oauth2SecurityScheme":{"flows":{"deviceCode":{"deviceAuthorizationUrl":"d"}}}}},
		"skills":[{"id":"s","securityRequirements":[{"schemes":{"k":{}}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, "1.0 to 0.3", got, `{"name":"n","protocolVersion":"0.3.0","url":"https://a","preferredTransport":"HTTP+JSON",
		"capabilities":{},"defaultInputModes":[],"defaultOutputModes":[],
		"securitySchemes":{"k":{"type":"apiKey","name":"X","in":"header"},"o":{"type":"oauth2","flows":{}}},
		"skills":[{"id":"s","tags":[],"security":[{"k":[]}]}]}`)

	got, err = TranslateResult(V03, V10, MethodExtendedCard, []byte(`{"name":"n","url":"https://a","capabilities":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, "0.3 to 1.0", got, `{"name":"n","capabilities":{},
		"supportedInterfaces":[{"url":"https://a","protocolBinding":"JSONRPC","protocolVersion":"1.0"}]}`)

	for _, c := range []struct{ from, to, in string }{
		{V03, V10, `{"securitySchemes":{"x":{"type":"magic"}}}`},
		{V03, V10, `{"securitySchemes":{"x":"apiKey"}}`},
		{V03, V10, `{"security":[{"k":"read"}]}`},
		{V03, V10, `{"additionalInterfaces":[{"url":1}]}`},
		{V03, V10, `{"capabilities":[]}`},
		{V10, V03, `{"securitySchemes":{"x":{}}}`},
		{V10, V03, `{"securityRequirements":[{"schemes":{"k":{"list":"read"}}}]}`},
		{V10, V03, `{"supportedInterfaces":{}}`},
		{V10, V03, `[]`},
	} {
		if got, err := TranslateResult(c.from, c.to, MethodExtendedCard, []byte(c.in)); err == nil {
			t.Errorf("%s to %s of %s: no error, got %s", c.from, c.to, c.in, got)
		}
	}
}
