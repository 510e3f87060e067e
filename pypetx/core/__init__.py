"""The core model: the tree, parameters and results, the trajectory, value kinds and
explorations, and the records that carry a finished batch to the store.

Plain names only (pypet's ``f_``/``v_`` names are added on top, in :mod:`pypetx.compat`);
imports nothing above :mod:`pypetx.base`.
"""
