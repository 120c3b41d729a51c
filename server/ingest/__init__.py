"""The write path: /i, /i/bulk, /o/sdk."""
