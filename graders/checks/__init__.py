"""Check families, one module each. Every factory returns a `Check` bound to its lab's parameters."""
