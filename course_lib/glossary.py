"""The course's terms, their Chinese names (from the seed notes the course grew out of) and one-line meanings.

Each chapter's idea section shows its terms with `show_terms("early fusion", "late fusion", ...)`.
"""
import difflib

# term: (Chinese name, meaning)
GLOSSARY = {
    "modality": ("模态", "one kind of signal about the world: image, text, audio, ..."),
    "multimodal fusion": ("多模态融合", "combining several modalities into one representation or decision"),
    "representation": ("表征", "finding a shared (joint) or coordinated way to represent several modalities"),
    "translation": ("翻译", "mapping one modality into another (caption an image, speak a text)"),
    "alignment": ("对齐", "finding which parts of one modality correspond to which parts of another"),
    "fusion": ("融合", "joining the information of several modalities to predict something"),
    "co-learning": ("联合学习", "using a data-rich modality to help learn a data-poor one"),
    "redundancy": ("冗余性", "each modality carries the same information about the label"),
    "complementarity": ("互补性", "each modality carries a different part of the label"),
    "synergy": ("协同", "the label shows only in the combination: no modality alone tells anything"),
    "early fusion": ("早期融合", "join features (or raw data) first, then learn one model on the joined input"),
    "data-level fusion": ("数据融合", "early fusion of the raw data (pixels, words) before any features are extracted"),
    "intermediate fusion": ("中间融合", "fusion of encoded features, between the raw data and the decisions (feature-level)"),
    "late fusion": ("晚期融合", "one model per modality; combine their decisions (decision-level fusion)"),
    "decision-level fusion": ("决策级融合", "late fusion: average or vote the unimodal predictions"),
    "hybrid fusion": ("混合融合", "combine an early-fusion predictor with the unimodal predictors"),
    "concatenation": ("拼接", "place feature vectors end to end: [h_img; h_txt]"),
    "weighted sum": ("加权和", "w_img * h_img + w_txt * h_txt, fixed or learned weights"),
    "max pooling": ("最大池化", "element-wise maximum over a set of feature vectors"),
    "mean pooling": ("平均池化", "element-wise mean over a set of feature vectors"),
    "joint representation": ("联合表示", "all modalities mapped together into one shared space"),
    "coordinated representation": ("协同表示", "each modality mapped on its own, the spaces tied by a similarity constraint"),
    "gated fusion": ("门控融合", "a learned gate decides, per sample, how much of each modality passes"),
    "gate": ("门", "a learned weight in (0, 1), computed from the input itself, that scales what passes through"),
    "update gate": ("更新门", "z in a GRU: how much of the output is rewritten by the new candidate"),
    "reset gate": ("重置门", "r in a GRU: how much of an input the candidate may read"),
    "gated multimodal unit": ("门控多模态单元", "GMU: z * tanh(W_v x_v) + (1 - z) * tanh(W_t x_t), z from both inputs"),
    "attentional feature fusion": ("注意力特征融合", "AFF: M * X + (1 - M) * Y with M from multi-scale channel attention"),
    "channel attention": ("通道注意力", "a gate per feature channel, computed from the features (squeeze-and-excitation)"),
    "multi-scale channel attention": ("多尺度通道注意力", "MS-CAM: channel attention from a per-position and a pooled context"),
    "element-wise product": ("逐元素乘积", "a ⊙ b: multiply two same-shaped tensors entry by entry (Hadamard product)"),
    "attention": ("注意力", "weights from query-key similarity select what to read from values"),
    "matrix form": ("矩阵化", "attention for all queries at once as matrix products, with masks"),
    "scaled dot-product attention": ("缩放点积注意力", "softmax(Q K^T / sqrt(d)) V: dot-product scores, scaled, then a weighted sum"),
    "query, key, value": ("查询、键、值", "a query is compared with every key; the weights it gets mix the values"),
    "multi-head attention": ("多头注意力", "H attentions side by side on D/H-sized slices, concatenated and mixed"),
    "padding mask": ("填充掩码", "marks the padded positions of a batch so no query attends to them"),
    "self-attention": ("自注意力", "queries, keys and values all come from the same sequence"),
    "cross-modal attention": ("跨模态注意力", "queries from one modality, keys and values from another"),
    "co-attention": ("共同注意力", "two streams, each attending to the other (ViLBERT's co-TRM; METER)"),
    "merged attention": ("合并注意力", "one transformer over the concatenated tokens of both modalities (single stream)"),
    "binding problem": ("绑定问题", "knowing which attribute belongs to which object, lost when a set is pooled"),
    "bilinear pooling": ("双线性池化", "the outer product of two feature vectors, then pooling"),
    "tensor fusion network": ("张量融合网络", "TFN: outer product of [h; 1] vectors keeps uni-, bi- and trimodal terms"),
    "low-rank multimodal fusion": ("低秩多模态融合", "LMF: TFN's weight tensor as a sum of rank-1 modality factors"),
    "low-rank": ("低秩", "a matrix or tensor written as a sum of few outer products"),
    "compact bilinear pooling": ("紧凑双线性池化", "MCB: the outer product's count sketch, computed by FFT without forming it"),
    "count sketch": ("计数草图", "a random projection: each feature, times a random sign, added into a random bucket"),
    "outer product": ("外积", "x ⊗ y: every entry of x times every entry of y, an (n, m) matrix from n- and m-vectors"),
    "cp decomposition": ("CP分解", "a tensor written as a sum of r rank-one tensors a ⊗ b ⊗ c (CANDECOMP/PARAFAC)"),
    "factorised bilinear pooling": ("分解双线性池化", "MFB: each bilinear output x^T W y with W of low rank, "
                                    "computed as sum-pooled U^T x ⊙ V^T y"),
    "multimodal bitransformer": ("多模态双向Transformer", "MMBT: image embeddings placed as tokens in a pretrained "
                                 "BERT's input, the whole fine-tuned on the task"),
    "segment embedding": ("段嵌入", "a learned vector per segment (BERT's sentence A / B; in MMBT image / text) added "
                          "to each token"),
    "position embedding": ("位置嵌入", "a learned vector per position added to each token, so attention can see order"),
    "adaptive pooling": ("自适应池化", "pooling to a fixed output grid whatever the input size (regions may overlap)"),
    "prompt": ("提示", "learned vectors added to a frozen transformer's input to steer it"),
    "query prompt": ("查询提示", "PMF's QP: learned tokens appended to one modality whose outputs, mapped, carry "
                     "its message to the other"),
    "query-context prompt": ("查询上下文提示", "PMF's QCP: learned tokens that give the query stage extra context"),
    "fusion-context prompt": ("融合上下文提示", "PMF's FCP: learned tokens that give the fusion stage context for "
                              "absorbing the other modality's message"),
    "non-linear mapping": ("非线性映射", "a small MLP carrying one modality's query-prompt outputs into the other's space"),
    "fusion layer": ("融合层", "PMF's L_f: the first layer where the modalities exchange prompts; below it all is frozen "
                     "and unimodal"),
    "contrastive loss": ("对比损失", "pull matching pairs together, push non-matching pairs apart"),
    "infonce": ("InfoNCE损失", "a contrastive loss: cross-entropy of picking the true partner among the batch's candidates"),
    "temperature": ("温度", "tau: similarities are divided by it before the softmax; small tau, sharp distribution"),
    "cross-modal retrieval": ("跨模态检索", "rank the items of one modality by their similarity to a query of another"),
    "recall@k": ("召回率@k", "share of queries with a right item among the k best-ranked"),
    "zero-shot classification": ("零样本分类", "classify with prompts that describe each class, not with labelled examples"),
    "prompt ensembling": ("提示集成", "several prompts per class, their text embeddings averaged into one class vector"),
    "canonical correlation analysis": ("典型相关分析", "CCA: linear projections of two views with maximal correlation"),
    "image-text matching": ("图文匹配", "ITM: a fused binary head that says whether a caption belongs to an image"),
    "hard negative": ("难负样本", "a wrong pair that looks almost right (one attribute changed)"),
    "encoder-decoder": ("编码器-解码器", "one network reads a modality, another writes a second one from it"),
    "unaligned sequences": ("非对齐序列", "sequences of different lengths and rates whose parts correspond unknown"),
    "multimodal transformer": ("多模态Transformer", "MulT: each modality's sequence attends to the other's "
                               "(cross-modal transformer), no alignment given"),
    "partial information decomposition": ("部分信息分解", "PID: I(Y; X1, X2) split into redundancy, two uniquenesses "
                                          "and synergy, in bits"),
    "mutual information": ("互信息", "I(Y; X): how many bits X tells about Y, sum p(x, y) log2 p(x, y) / (p(x) p(y))"),
    "uniqueness": ("独特性", "what one modality tells about the label that the other does not"),
    "masked language modelling": ("掩码语言建模", "MLM: hide some words, predict them from the rest (BERT's pretraining)"),
    "pretraining": ("预训练", "training on a large generic task before the task at hand"),
    "fine-tuning": ("微调", "continuing to train a pretrained model on the task at hand"),
    "flops": ("浮点运算次数", "floating-point operations of one forward pass (a multiply-add counts as 2)"),
    "latency": ("延迟", "wall-clock time of one call, e.g. one inference batch"),
    "robustness": ("鲁棒性", "how slowly accuracy falls as an input is damaged, here a missing or noisy modality"),
    "missing modality": ("模态缺失", "a sample arrives without one of its modalities (a blank picture, no text, silence)"),
    "modality dropout": ("模态丢弃", "drop a whole modality of random training samples, so the model learns to do without it"),
    "frozen features": ("冻结特征", "features from a pretrained encoder whose weights do not train; extracted once and reused"),
    "pretrained checkpoint": ("预训练权重", "saved weights of a model trained elsewhere, loaded with from_pretrained"),
    "tokenizer": ("分词器", "splits text into the word pieces a language model knows and maps them to ids"),
    "image normalisation": ("图像归一化", "per-channel (x - mean) / std with the statistics the encoder was trained with"),
    "fixture": ("测试样例数据", "a small file in the real format, shipped so the loading code runs offline"),
    "unimodal baseline": ("单模态基线", "the best a single modality can do alone: what fusion must beat"),
    "auroc": ("ROC曲线下面积", "AUC: the chance that a random positive scores above a random negative (a tie counts "
              "half); 0.5 is chance, 1 a perfect ranking, whatever the threshold or the class balance"),
    "special tokens": ("特殊词元", "[CLS], [SEP], [PAD], [MASK]: ids a tokenizer reserves; every vocabulary numbers "
                       "them its own way"),
}


def term(name: str) -> tuple:
    """(Chinese name, meaning) of a term; an unknown term raises a KeyError that suggests close ones."""
    key = name.lower()
    if key not in GLOSSARY:
        close = difflib.get_close_matches(key, GLOSSARY, n=3)
        raise KeyError(f"{name!r} is not in the glossary" + (f"; did you mean {close}?" if close else ""))
    return GLOSSARY[key]


def terms_markdown(*names: str) -> str:
    rows = [f"| {n} | {term(n)[0]} | {term(n)[1]} |" for n in names]
    return "\n".join(["| term | 中文 | meaning |", "|---|---|---|", *rows])


def show_terms(*names: str):
    """Display the terms as a table in a notebook (returns the IPython Markdown object)."""
    from IPython.display import Markdown
    return Markdown(terms_markdown(*names))
