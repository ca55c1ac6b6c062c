"""Stage 3, the features: the network registry (networks/), how a network runs (runtime/), extraction into the
feature cache.
"""
