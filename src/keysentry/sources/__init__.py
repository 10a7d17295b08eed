"""Where bytes come from. Each source yields what to scan and reports what it could not read."""
