"""Stage 4, the neighbours: Annoy and exact search, Annoy's recall, measures of the plain collection."""
