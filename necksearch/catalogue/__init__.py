"""The torch-free catalogue of operations, which graphs, spaces and the operations themselves read.

* :mod:`~necksearch.catalogue.domain` — :class:`Domain`: the values an argument may take and its default;
* :mod:`~necksearch.catalogue.slot` — :class:`Slot`: where in a neck an operation sits and how it is called;
* :mod:`~necksearch.catalogue.record` — :class:`OpRecord`: everything about an operation but its module, and
  ``records.json``, the built-in operations' records;
* :mod:`~necksearch.catalogue.tables` — every record (plugins' too) and the tables derived from them.

The catalogue imports no other layer of necksearch. This package hands nothing on: importing
``necksearch.catalogue.domain`` must not load the plugins (``necksearch.ops.registry`` imports it while a
plugin may be loading), so the tables load only when :mod:`~necksearch.catalogue.tables` is imported.
"""
