package attach

import (
	"fmt"

	"github.com/google/uuid"
)

// NewID makes a UUIDv7, the id of every row the gateway creates: ordered by
// creation time, so it doubles as the pagination key.
func NewID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("make id: %w", err)
	}
	return id.String(), nil
}

// ValidID tells whether s can be an id at all. Anything else cannot exist,
// so stores answer not found without asking the database.
func ValidID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
}
