"""Signing in, in the GUI: the sign-in page, its controller, the coordinator that holds the session of
the current profile, the status-bar text, the scope gate and the session banner."""
