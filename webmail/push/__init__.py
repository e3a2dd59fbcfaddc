"""Changes to a mailbox pushed to every open page (issue 16)."""
