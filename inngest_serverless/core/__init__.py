"""The protocol: no host knowledge. Adapters build a Request and call Handler.handle."""
