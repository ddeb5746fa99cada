package app

// apiError is an error a handler returns to end a request with a JSON error;
// the error handler writes it. Helpers return it so callers can stop with a
// plain `if err != nil { return err }`.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func apiErr(status int, code, msg string) error {
	return &apiError{Status: status, Code: code, Message: msg}
}
