"""`adcut bench synthetic`: a deterministic world of ads whose visual content, script wording,
clip order and music mood are tied by hidden rules, as embeddings, in which a model trained
from scratch on a CPU can beat the zero-shot planner, and every step of the pipeline
(dataset, tokenizers, training, planning, scoring) runs in one command.

    rules       the world's fixed vocabulary: categories, shot types, attributes, moods, words
    world       the generator (pure, seeded): vectors, lines, captions, music library, truth
    dataset     the world as a dataset folder, written by the dataset builder's own code
    planners    the reference planners: random, and what zero-shot is given
    score       running a planner on the held-out rows and scoring it (CSA, CRA, Kendall tau,
                music R@10, with bootstrap intervals)
    bench       run_synthetic_bench: everything above in order, and the report's text form
    model_step  the model step (train on the folder, return its planner)
"""
