"""Reading mail: per-user preferences and trusted senders (the reading views follow later)."""
