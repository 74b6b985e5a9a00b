"""The RDataFrame path: a feature spec compiled to C++ and defined as dataframe columns.

The C++ is generated from the same spec objects and the same
:class:`~hepfm_root.spec.Resolution` as the awkward path (``hepfm_root.tensors``),
so there is one feature list; parity tests hold the two paths equal event by
event.  ROOT is imported only when a dataframe is used.

Example::

    import ROOT
    from hepfm_root.rdf import define_objects
    f = ROOT.TFile.Open("nano.root")
    df = define_objects(ROOT.RDataFrame(f.Get("Events")), "six_object")
    df.Filter("hepfm_selected").AsNumpy(["run", "luminosityBlock", "event", "hepfm_objects"])

    # a model's score as a column: one batched scoring pass, then a lookup by event identity
    from hepfm_root.rdf import define_score
    df = define_score(ROOT.RDataFrame(f.Get("Events")), "exports/six_object_heavy_higgs_vs_ttbar/0.1")
    df.Filter("score > 0.5").Histo1D(("h", "", 20, 0, 1), "score")

    # the score as a friend tree aligned entry by entry with the input (TTree::AddFriend)
    from hepfm_root.rdf import write_score_friend
    write_score_friend("nano.root", "exports/six_object_heavy_higgs_vs_ttbar/0.1", "nano.scores.root")

    # training batches (numpy) through ROOT.Experimental.ML.RDataLoader
    from hepfm_root.rdf import tensor_batches
    for objects, mask, labels in tensor_batches(df.Define("label", "1"), "six_object", label_column="label"):
        ...
"""

from ._corrections import define_corrections
from ._define import cpp_source, define_objects
from ._friend import write_score_friend
from ._loader import tensor_batches
from ._score import ScoreTable, define_score, score_table

__all__ = ["ScoreTable", "cpp_source", "define_corrections", "define_objects", "define_score", "score_table",
           "tensor_batches", "write_score_friend"]


def __dir__() -> list[str]:
    return __all__
