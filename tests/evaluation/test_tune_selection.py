"""How --tune picks a blend among trials (pure function over trial records; no data needed)."""

from recommender.evaluation import _choose_blend


def _trial(view, cf, recall, cf_recall, text_recall):
    t = {"view": view, "blend": {"cf": cf, "text": round(1 - cf - 0.05, 2), "trend": 0.05}}
    for i, k in enumerate((20, 50, 100, 300)):
        t[f"recall@{k}"] = recall[i]
        t[f"cf_recall@{k}"] = cf_recall[i]
        t[f"text_recall@{k}"] = text_recall[i]
    return t


CF = (0.10, 0.20, 0.30, 0.50)
TEXT = (0.12, 0.19, 0.28, 0.45)


def test_a_blend_that_beats_both_components_everywhere_wins_over_a_higher_objective():
    better_but_loses_at_20 = _trial("v", 0.7, (0.11, 0.26, 0.36, 0.58), CF, TEXT)
    beats_everywhere = _trial("v", 0.5, (0.13, 0.24, 0.34, 0.56), CF, TEXT)
    blend, objective, beats = _choose_blend([better_but_loses_at_20, beats_everywhere])
    assert blend["cf"] == 0.5 and beats
    assert objective == (0.24 + 0.34 + 0.56) / 3


def test_without_a_blend_that_beats_everywhere_the_best_objective_wins_and_says_so():
    a = _trial("v", 0.7, (0.11, 0.26, 0.36, 0.58), CF, TEXT)
    b = _trial("v", 0.5, (0.11, 0.24, 0.34, 0.56), CF, TEXT)
    blend, _, beats = _choose_blend([a, b])
    assert blend["cf"] == 0.7 and not beats


def test_a_blend_must_beat_the_components_on_every_view_it_is_chosen_on():
    on_one_view = [
        _trial("a", 0.5, (0.13, 0.24, 0.34, 0.56), CF, TEXT),
        _trial("b", 0.5, (0.09, 0.30, 0.40, 0.60), CF, TEXT),  # loses to text at @20 here
    ]
    on_both = [
        _trial("a", 0.6, (0.13, 0.21, 0.31, 0.51), CF, TEXT),
        _trial("b", 0.6, (0.13, 0.21, 0.31, 0.51), CF, TEXT),
    ]
    blend, _, beats = _choose_blend(on_one_view + on_both)
    assert blend["cf"] == 0.6 and beats


def test_a_view_without_cooccurrence_cannot_choose_a_cooccurrence_weight():
    # on a one-paper view the co-occurrence component is empty: its weight only rescales the others
    with_cooc = _trial("sparse", 0.5, (0.13, 0.24, 0.34, 0.56), CF, TEXT)
    with_cooc["blend"]["cooccurrence"] = 0.3
    without = _trial("sparse", 0.6, (0.13, 0.22, 0.32, 0.52), CF, TEXT)
    for t in (with_cooc, without):
        t["cooccurrence_pairs"] = 0
    blend, _, _ = _choose_blend([with_cooc, without])
    assert blend["cf"] == 0.6 and "cooccurrence" not in blend
    # where the view has co-occurrence pairs, the better blend wins as usual
    for t in (with_cooc, without):
        t["cooccurrence_pairs"] = 1200
    blend, _, _ = _choose_blend([with_cooc, without])
    assert blend["cooccurrence"] == 0.3
