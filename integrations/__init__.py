"""One package per external system. Each returns our own types; nothing outside imports an SDK."""
