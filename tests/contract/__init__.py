"""Contract tests of the sandbox against the spec: the signer, the shared checks and steering, the CLI hooks."""
