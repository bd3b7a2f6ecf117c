"""The embedded English-to-X ST corpus of ``egs2/mini_st`` (built on the machine): its
grammar, the corpus builder and the SSL speech its upstream is trained on."""
