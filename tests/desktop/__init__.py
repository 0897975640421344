"""A throwaway desktop for end-to-end tests: Xvfb, a private session bus, a tray host,
a notification server that records every call, and an unlocked gnome-keyring."""
