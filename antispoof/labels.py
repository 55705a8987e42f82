"""The two class labels, bob's convention: bona fide presentations are the positives (higher score = more bona fide).

Every module compares labels with these names (datasets, caches, models, metrics, training, evaluation).
"""

#: Label of bona fide (genuine, live) presentations.
BONA_FIDE = 1
#: Label of presentation attacks.
ATTACK = 0
