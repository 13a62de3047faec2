"""newsburst serving side: Lambda handlers and the torch-free inference runtime."""
