"""Wire-format helpers shared by every resource router."""
