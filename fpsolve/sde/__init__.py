"""The stochastic side: Euler–Maruyama ensembles of the SDE, path–wall geometry, mini-batch SGD.

Depends on :mod:`fpsolve.problem` only (numpy), never on the finite-element layers.
"""
