# Tagged tests that need more than the default machine (e.g. :memory, which
# allocates gigabytes) run by default; exclude them with --exclude memory.
ExUnit.start()
