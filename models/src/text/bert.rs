//! A BERT encoder (the transformer stack only, no pooler or heads) on candle-nn, with the
//! tensor names of Hugging Face `BertModel` checkpoints, so sentence-transformers models
//! (all-MiniLM-L6-v2 and other BERT-family encoders) load unchanged.
//!
//! Written here rather than taken from `candle-transformers`, which compiles every model it has
//! (about 10 CPU-minutes on our 2-core machines, INFRA.md) for the one we need.

use candle_core::{DType, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder, embedding, layer_norm, linear};
use serde::Deserialize;

/// The fields of a Hugging Face `config.json` that a BERT encoder needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_positions")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: u32,
    #[serde(default)]
    pub model_type: Option<String>,
}

fn default_act() -> String {
    "gelu".into()
}
fn default_positions() -> usize {
    512
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}

impl BertConfig {
    /// Checks what the forward pass relies on, so a bad config fails at load with a message
    /// instead of a shape error in the middle of a query.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(t) = &self.model_type
            && t != "bert"
        {
            // RoBERTa shares the tensor names but offsets positions by the padding id, and
            // DistilBERT names its tensors differently: both would load wrong or not at all.
            return Err(format!(
                "model_type '{t}' is not supported (only 'bert' checkpoints)"
            ));
        }
        if self.hidden_size == 0 || self.num_attention_heads == 0 {
            return Err("hidden_size and num_attention_heads must be positive".into());
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        Activation::parse(&self.hidden_act)?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum Activation {
    GeluErf,
    GeluTanh,
    Relu,
}

impl Activation {
    fn parse(name: &str) -> Result<Self, String> {
        match name {
            "gelu" => Ok(Self::GeluErf),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_approximate" => Ok(Self::GeluTanh),
            "relu" => Ok(Self::Relu),
            other => Err(format!(
                "hidden_act '{other}' is not supported (gelu, gelu_new, relu)"
            )),
        }
    }

    fn apply(self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::GeluErf => x.gelu_erf(),
            Self::GeluTanh => x.gelu(),
            Self::Relu => x.relu(),
        }
    }
}

#[derive(Debug)]
struct Embeddings {
    words: Embedding,
    positions: Embedding,
    token_types: Embedding,
    norm: LayerNorm,
}

impl Embeddings {
    fn load(vb: VarBuilder, c: &BertConfig) -> candle_core::Result<Self> {
        Ok(Self {
            words: embedding(c.vocab_size, c.hidden_size, vb.pp("word_embeddings"))?,
            positions: embedding(
                c.max_position_embeddings,
                c.hidden_size,
                vb.pp("position_embeddings"),
            )?,
            token_types: embedding(
                c.type_vocab_size,
                c.hidden_size,
                vb.pp("token_type_embeddings"),
            )?,
            norm: layer_norm(c.hidden_size, c.layer_norm_eps, vb.pp("LayerNorm"))?,
        })
    }

    fn forward(&self, ids: &Tensor, type_ids: &Tensor) -> candle_core::Result<Tensor> {
        let (_, len) = ids.dims2()?;
        let positions = Tensor::arange(0u32, len as u32, ids.device())?.unsqueeze(0)?;
        let x = self
            .words
            .forward(ids)?
            .add(&self.token_types.forward(type_ids)?)?
            .broadcast_add(&self.positions.forward(&positions)?)?;
        self.norm.forward(&x)
    }
}

#[derive(Debug)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    out: Linear,
    out_norm: LayerNorm,
    heads: usize,
    act: Activation,
}

impl Layer {
    fn load(vb: VarBuilder, c: &BertConfig, act: Activation) -> candle_core::Result<Self> {
        let (h, i) = (c.hidden_size, c.intermediate_size);
        let att = vb.pp("attention");
        Ok(Self {
            query: linear(h, h, att.pp("self").pp("query"))?,
            key: linear(h, h, att.pp("self").pp("key"))?,
            value: linear(h, h, att.pp("self").pp("value"))?,
            attn_out: linear(h, h, att.pp("output").pp("dense"))?,
            attn_norm: layer_norm(h, c.layer_norm_eps, att.pp("output").pp("LayerNorm"))?,
            intermediate: linear(h, i, vb.pp("intermediate").pp("dense"))?,
            out: linear(i, h, vb.pp("output").pp("dense"))?,
            out_norm: layer_norm(h, c.layer_norm_eps, vb.pp("output").pp("LayerNorm"))?,
            heads: c.num_attention_heads,
            act,
        })
    }

    /// `x`: (batch, len, hidden); `bias`: (batch, 1, 1, len), 0 for real tokens and a large
    /// negative number for padding, so padded keys get exactly zero attention.
    fn forward(&self, x: &Tensor, bias: &Tensor) -> candle_core::Result<Tensor> {
        let (b, len, hidden) = x.dims3()?;
        let head_dim = hidden / self.heads;
        let split = |t: Tensor| -> candle_core::Result<Tensor> {
            t.reshape((b, len, self.heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split(self.query.forward(x)?)?;
        let k = split(self.key.forward(x)?)?;
        let v = split(self.value.forward(x)?)?;
        let scores = (q.matmul(&k.t()?.contiguous()?)? / (head_dim as f64).sqrt())?;
        let probs = candle_nn::ops::softmax_last_dim(&scores.broadcast_add(bias)?)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, len, hidden))?;
        let x = self
            .attn_norm
            .forward(&self.attn_out.forward(&context)?.add(x)?)?;
        let inner = self.act.apply(&self.intermediate.forward(&x)?)?;
        self.out_norm.forward(&self.out.forward(&inner)?.add(&x)?)
    }
}

/// The BERT transformer stack: token ids in, one hidden vector per token out.
#[derive(Debug)]
pub struct BertModel {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    config: BertConfig,
}

impl BertModel {
    /// Loads the weights from `vb`; checkpoints whose tensors are prefixed `bert.` (a model
    /// saved with a head) load too.
    pub fn load(vb: VarBuilder, config: &BertConfig) -> candle_core::Result<Self> {
        config.validate().map_err(candle_core::Error::Msg)?;
        let act = Activation::parse(&config.hidden_act).map_err(candle_core::Error::Msg)?;
        let vb = if !vb.contains_tensor("embeddings.word_embeddings.weight")
            && vb.contains_tensor("bert.embeddings.word_embeddings.weight")
        {
            vb.pp("bert")
        } else {
            vb
        };
        let embeddings = Embeddings::load(vb.pp("embeddings"), config)?;
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::load(vb.pp("encoder").pp("layer").pp(i), config, act))
            .collect::<candle_core::Result<_>>()?;
        Ok(Self {
            embeddings,
            layers,
            config: config.clone(),
        })
    }

    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// `ids`, `type_ids`: (batch, len) u32; `mask`: (batch, len) f32, 1 for real tokens and 0
    /// for padding. Returns (batch, len, hidden) f32.
    pub fn forward(
        &self,
        ids: &Tensor,
        type_ids: &Tensor,
        mask: &Tensor,
    ) -> candle_core::Result<Tensor> {
        // (1 - mask) * -1e4, the classic BERT additive mask: exp(-1e4) is exactly 0 in f32, and
        // unlike f32::MIN it cannot overflow to -inf when added to a score.
        let bias = ((mask.to_dtype(DType::F32)? - 1.0)? * 1e4)?
            .unsqueeze(1)?
            .unsqueeze(1)?;
        let mut x = self.embeddings.forward(ids, type_ids)?;
        for layer in &self.layers {
            x = layer.forward(&x, &bias)?;
        }
        Ok(x)
    }
}
