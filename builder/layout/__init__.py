"""The layout stage: 2-D coordinates per network for the map, from the features and the neighbour lists."""
