"""RQ-VAE tokens (AutoCut sections 2.4, 4 and 5.2): continuous frame and music embeddings become
8 discrete codes each, written as `<v_{level}_{code}>` / `<a_{level}_{code}>` tokens that a
language model reads and writes in one vocabulary with text."""
