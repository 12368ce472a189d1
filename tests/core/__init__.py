"""The fast layer: core rules tested without HTTP, a server or a socket (the login limiter, the
display-name rule, the chat service over a real database), time from a task.Clock."""
