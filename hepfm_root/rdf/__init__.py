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
"""

from ._define import cpp_source, define_objects

__all__ = ["cpp_source", "define_objects"]


def __dir__() -> list[str]:
    return __all__
