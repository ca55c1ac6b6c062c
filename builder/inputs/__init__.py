"""Stage 2, the inputs: each file decoded once, its perturbed copies made, thumbnails encoded, inputs preprocessed."""
