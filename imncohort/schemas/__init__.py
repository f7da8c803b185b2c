"""One typed schema per table that crosses a stage boundary (docs/ARCHITECTURE.md).

==========================  ===========================================  ====================
table                       file(s) under OUT                            module
==========================  ===========================================  ====================
instances, series, studies  ``restricted/index/*.parquet``               :mod:`.index`
files, manifest, identities ``restricted/index/``, ``restricted/``       :mod:`.index`
mentions, reports           ``mentions.parquet``, ``reports.parquet``    :mod:`.mentions`
sentences, worklist         ``restricted/mention_sentences.parquet``,    :mod:`.mentions`
                            ``restricted/worklist.csv``
nodes                       ``nodes.parquet`` + ``nodes.csv``            :mod:`.nodes`
cohort                      ``cohort.parquet`` + ``cohort.csv``          :mod:`.cohort`
errors                      ``errors.csv``, ``restricted/state/errors_*``  :mod:`.errors`
review agreement, summary   ``review_agreement.csv``                     :mod:`.review`
==========================  ===========================================  ====================

Each module holds the columns with their dtypes and the table's reader and writer; no
other module spells them. The machinery is :mod:`.base`.
"""

from imncohort.schemas.base import (
    Column,
    TableSchema,
    as_bool,
    as_boolean,
    as_optional_bool,
    parse_bool,
)

__all__ = ["Column", "TableSchema", "as_bool", "as_boolean", "as_optional_bool", "parse_bool"]
