"""Training pipeline: models (MH, MMoE, MMoEEx), training, evaluation, export.

Only the command line's training commands and benchmarks import this
subpackage; the runtime (``surrogate_cell.model``, ``cells``, ``neuron``,
``netpyne``, ``lfp``) never does, and reads exported models through their
TorchScript interface only.
"""
