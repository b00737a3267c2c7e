"""Cross-cutting plumbing: settings, user-facing errors, access tokens, path confinement."""
