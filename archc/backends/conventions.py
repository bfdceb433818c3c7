"""What a summary's figures count: the MAC convention and the element sizes memory is sized in.

Apart from `summary.py` so that the command line's help and choices need nothing else.
"""

from __future__ import annotations

MAC_CONVENTION = (
    "MACs are multiply-accumulates (one is a multiply and an add, 2 FLOPs) of one sample's "
    "forward pass at the declared input size: weights times output positions for convolutions "
    "and linear layers (biases not counted), attention's QK^T and AV products included, 1 per "
    "element for BatchNorm and 4 for LayerNorm, k*k per output for max pooling and 1 per input "
    "for average pooling, a mixture of experts' router and only the top_k experts each token "
    "runs through (its parameters count every expert); activations, dropout and residual "
    "additions count 0."
)

# Bytes per element of the types a summary can size a network in.
DTYPES = {"float64": 8, "float32": 4, "bfloat16": 2, "float16": 2}
