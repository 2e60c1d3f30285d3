"""Command-line adapters: each verb parses options, opens streams and calls one core function."""
