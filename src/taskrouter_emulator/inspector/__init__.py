"""The live inspector: a browser page at /emulator/ui over the /v1 API, and its event feed."""
