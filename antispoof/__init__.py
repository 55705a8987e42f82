"""antispoof: the CNN-LSTM face anti-spoofing model of Tu et al., trained on clips magnified by evm."""

__version__ = "0.1.0"
