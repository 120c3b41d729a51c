"""Management API: `/i/users`, `/o/users`, `/i/apps`, `/o/apps`, `/i/token`, `/o/token` (contract §8)."""
