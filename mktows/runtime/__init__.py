"""What outlives a request, below the engine: the job queue, the quota day, the clock, registries.

Nothing here knows leads or campaigns; the engine and delivery build on it.
"""
