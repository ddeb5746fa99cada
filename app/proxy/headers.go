package proxy

import (
	"bytes"
	"net"
	"net/netip"

	"github.com/valyala/fasthttp"

	attach "github.com/attach-dev/attach-gateway"
)

// Headers the gateway stamps. A client can never set them itself.
const (
	headerUser      = "X-Attach-User"
	headerSession   = "X-Attach-Session"
	headerTenant    = "X-Attach-Tenant"
	headerSessionID = "X-Attach-Session-Id"
	// attachPrefixFolded is the prefix of every X-Attach-* name as
	// IsAttachHeader folds names before comparing.
	attachPrefixFolded = "x-attach-"
)

// hopHeaders are meaningful for one connection only, so a proxy must not
// forward them. The list is net/http/httputil.ReverseProxy's.
var hopHeaders = [][]byte{
	[]byte("Connection"),
	[]byte("Proxy-Connection"),
	[]byte("Keep-Alive"),
	[]byte("Proxy-Authenticate"),
	[]byte("Proxy-Authorization"),
	[]byte("Te"),
	[]byte("Trailer"),
	[]byte("Transfer-Encoding"),
	[]byte("Upgrade"),
}

var (
	strConnection     = []byte("Connection")
	strHost           = []byte("Host")
	strContentLength  = []byte("Content-Length")
	strAuthorization  = []byte("Authorization")
	strCookie         = []byte("Cookie")
	strExpect         = []byte("Expect")
	strDate           = []byte("Date")
	strXForwardedFor  = []byte("X-Forwarded-For")
	strXForwardedHost = []byte("X-Forwarded-Host")
	strXForwardedProt = []byte("X-Forwarded-Proto")
	strSetCookie      = []byte("Set-Cookie")
	strSetCookie2     = []byte("Set-Cookie2")
	strBearer         = []byte("Bearer ")
	strCommaSpace     = []byte(", ")
)

func isHopHeader(key []byte) bool {
	for _, h := range hopHeaders {
		if bytes.EqualFold(key, h) {
			return true
		}
	}
	return false
}

// IsAttachHeader reports whether a header name is an X-Attach-* name in any
// spelling: case folded and with '_' read as '-'. WSGI and CGI servers fold
// both into one variable (X_Attach_User and X-Attach-User are both
// HTTP_X_ATTACH_USER), so an engine behind one would take a client's
// X_Attach_User for the gateway's header.
func IsAttachHeader(key []byte) bool {
	if len(key) < len(attachPrefixFolded) {
		return false
	}
	for i := 0; i < len(attachPrefixFolded); i++ {
		c := key[i]
		switch {
		case c == '_':
			c = '-'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if c != attachPrefixFolded[i] {
			return false
		}
	}
	return true
}

// connectionListed reports whether key is named in one of the Connection
// header values: such headers are hop-by-hop too (RFC 9110, 7.6.1).
func connectionListed(conn [][]byte, key []byte) bool {
	for _, v := range conn {
		for len(v) > 0 {
			var tok []byte
			tok, v, _ = bytes.Cut(v, []byte{','})
			if bytes.EqualFold(bytes.TrimSpace(tok), key) {
				return true
			}
		}
	}
	return false
}

// forwardedRequest is what the engine should know about the client's request
// besides its own headers.
type forwardedRequest struct {
	remote net.Addr
	proto  string // "http" or "https", as the client used
	engine attach.Engine
	id     Identity
	via    string // "1.1 NAME": this gateway's entry in Via
}

// copyRequestHeaders fills dst with the client's headers as the engine should
// see them: no hop-by-hop headers, none of the client's credentials for the
// gateway (Authorization, Cookie), no X-Attach-* of its own making in any
// spelling (see IsAttachHeader); the
// gateway's identity headers, the engine's key and X-Forwarded-* instead.
// scratch is a buffer the caller lends for building values.
func copyRequestHeaders(dst, src *fasthttp.RequestHeader, f *forwardedRequest, scratch []byte) {
	var connBuf [4][]byte
	conn := connBuf[:0]
	for k, v := range src.All() {
		if bytes.EqualFold(k, strConnection) {
			conn = append(conn, v)
		}
	}
	xff := scratch[:0]
	for k, v := range src.All() {
		switch {
		case isHopHeader(k), connectionListed(conn, k),
			bytes.EqualFold(k, strHost), bytes.EqualFold(k, strContentLength),
			bytes.EqualFold(k, strAuthorization), bytes.EqualFold(k, strCookie),
			bytes.EqualFold(k, strXForwardedHost), bytes.EqualFold(k, strXForwardedProt),
			bytes.EqualFold(k, strExpect), IsAttachHeader(k):
			// Expect: the gateway has read the whole body already.
			continue
		case bytes.EqualFold(k, strXForwardedFor):
			if len(xff) > 0 {
				xff = append(xff, strCommaSpace...)
			}
			xff = append(xff, v...)
			continue
		}
		dst.AddBytesKV(k, v)
	}
	// Like ReverseProxy, add the peer to the chain of addresses the request
	// went through.
	if len(xff) > 0 {
		xff = append(xff, strCommaSpace...)
	}
	xff = appendRemoteIP(xff, f.remote)
	dst.SetBytesKV(strXForwardedFor, xff)
	if host := src.Host(); len(host) > 0 {
		dst.SetBytesKV(strXForwardedHost, host)
	}
	dst.Set("X-Forwarded-Proto", f.proto)

	if f.engine.APIKey != "" {
		auth := append(xff[:0], strBearer...)
		auth = append(auth, f.engine.APIKey...)
		dst.SetBytesKV(strAuthorization, auth)
	}
	setIdentity(dst, f.id)
	if f.via != "" {
		dst.Add("Via", f.via)
	}
	dst.ResetConnectionClose()
}

func setIdentity(dst *fasthttp.RequestHeader, id Identity) {
	if id.User != "" {
		dst.Set(headerUser, id.User)
	}
	if id.Session != "" {
		dst.Set(headerSession, id.Session)
	}
	if id.Tenant != "" {
		dst.Set(headerTenant, id.Tenant)
	}
}

// appendRemoteIP appends the IP address of the client's connection.
func appendRemoteIP(dst []byte, addr net.Addr) []byte {
	if a, ok := addr.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			return ip.Unmap().AppendTo(dst)
		}
	}
	if addr == nil {
		return dst
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return append(dst, addr.String()...)
	}
	return append(dst, host...)
}

// copyResponseHeaders passes the engine's answer headers to the client, minus
// hop-by-hop ones, the framing (the gateway frames its own answer), the
// engine's Date, any X-Attach-* in any spelling (only the gateway speaks
// for those) and, unless cookies is set, Set-Cookie and Set-Cookie2: the
// gateway answers on the console's origin, shared by every team, so an
// engine's cookie would reach the console and other teams' clients, or
// replace the console's own.
func copyResponseHeaders(dst, src *fasthttp.ResponseHeader, cookies bool) {
	var connBuf [4][]byte
	conn := connBuf[:0]
	for k, v := range src.All() {
		if bytes.EqualFold(k, strConnection) {
			conn = append(conn, v)
		}
	}
	if len(src.ContentType()) == 0 {
		dst.SetNoDefaultContentType(true)
	}
	for k, v := range src.All() {
		if isHopHeader(k) || connectionListed(conn, k) ||
			bytes.EqualFold(k, strContentLength) || bytes.EqualFold(k, strDate) ||
			IsAttachHeader(k) || (!cookies && isSetCookie(k)) {
			continue
		}
		dst.AddBytesKV(k, v)
	}
}

// isSetCookie reports whether key sets a cookie: Set-Cookie, or the
// obsolete Set-Cookie2 that some clients still honour, in any case.
func isSetCookie(key []byte) bool {
	return bytes.EqualFold(key, strSetCookie) || bytes.EqualFold(key, strSetCookie2)
}
