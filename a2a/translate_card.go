package a2a

// Agent cards: filled in below.
func cardTo10(c map[string]any) (map[string]any, error) { return c, nil }
func cardTo03(c map[string]any) (map[string]any, error) { return c, nil }
