"""Training data from finished ads (AutoCut sections 2.2-2.6, 5.2, 5.3): per-ad analysis
(speech, sentence clips, frame and music embeddings, product facts), the alignment strings and
the four SFT tasks built from them, and a corpus of synthesised ads with their truth."""
