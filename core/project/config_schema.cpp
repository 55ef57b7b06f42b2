#include "core/project/config_schema.h"

#include "core/errors.h"
#include "core/project/run_config.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSet>

#include <algorithm>
#include <cmath>
#include <limits>

namespace rr {

namespace {

using Type = ConfigKey::Type;

constexpr double kMaxInt32 = 2147483647.0;

QStringList reasoners(std::initializer_list<const char*> kinds) {
  QStringList out;
  for (const char* k : kinds) out.append(QStringLiteral("reasoner:") + QLatin1String(k));
  return out;
}

const QStringList kAllReasoners = reasoners({"erl", "prl", "lares", "plr", "hybrid"});
const QStringList kLares = reasoners({"lares", "hybrid"});
const QStringList kPlr = reasoners({"plr", "hybrid"});

QJsonArray intArray(std::initializer_list<int> values) {
  QJsonArray a;
  for (int v : values) a.append(v);
  return a;
}

/// Appends keys page by page; each add*() returns the new key for optional refinements
/// (appliesTo, advanced), to be made before the next add.
class SchemaBuilder {
 public:
  explicit SchemaBuilder(QVector<ConfigKey>& keys) : keys_(keys) {}
  void page(const char* name) { page_ = QLatin1String(name); }

  ConfigKey& add(const char* path, Type type, QJsonValue def, const char* label, const char* help) {
    ConfigKey k;
    k.path = QLatin1String(path);
    k.type = type;
    k.defaultValue = std::move(def);
    k.label = QString::fromUtf8(label);
    k.help = QString::fromUtf8(help);
    k.page = page_;
    keys_.append(std::move(k));
    return keys_.last();
  }
  ConfigKey& integer(const char* path, qint64 def, double min, double max, const char* label, const char* help) {
    ConfigKey& k = add(path, Type::Int, QJsonValue(def), label, help);
    k.min = min;
    k.max = max;
    return k;
  }
  ConfigKey& real(const char* path, double def, double min, double max, const char* label, const char* help) {
    ConfigKey& k = add(path, Type::Double, QJsonValue(def), label, help);
    k.min = min;
    k.max = max;
    return k;
  }
  ConfigKey& boolean(const char* path, bool def, const char* label, const char* help) {
    return add(path, Type::Bool, QJsonValue(def), label, help);
  }
  ConfigKey& choice(const char* path, const char* def, QStringList choices, const char* label, const char* help) {
    ConfigKey& k = add(path, Type::Enum, QJsonValue(QLatin1String(def)), label, help);
    k.choices = std::move(choices);
    return k;
  }
  ConfigKey& text(const char* path, const char* def, QString pattern, const char* label, const char* help) {
    ConfigKey& k = add(path, Type::String, QJsonValue(QLatin1String(def)), label, help);
    k.pattern = std::move(pattern);
    return k;
  }

 private:
  QVector<ConfigKey>& keys_;
  QString page_;
};

QString describe(const QJsonValue& v) {
  switch (v.type()) {
    case QJsonValue::Null: return QStringLiteral("null");
    case QJsonValue::Undefined: return QStringLiteral("nothing");
    case QJsonValue::Bool: return v.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    case QJsonValue::Double: return QString::number(v.toDouble(), 'g', 17);
    case QJsonValue::String: return QStringLiteral("'%1'").arg(v.toString());
    case QJsonValue::Array: return QString::fromUtf8(QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact));
    case QJsonValue::Object: return QStringLiteral("an object");
  }
  return {};
}

QString number(double v) { return QString::number(v, 'g', 12); }

/// Checks one integer (a value of an Int key or an element of an IntList).
QString checkInteger(const ConfigKey& key, const QJsonValue& v) {
  if (!v.isDouble()) return QStringLiteral("expected an integer, got %1").arg(describe(v));
  const double x = v.toDouble();
  if (!std::isfinite(x) || std::floor(x) != x) return QStringLiteral("expected an integer, got %1").arg(describe(v));
  if (x < key.min || x > key.max)
    return QStringLiteral("must be between %1 and %2, got %3").arg(number(key.min), number(key.max), describe(v));
  return {};
}

QString choiceList(const QStringList& choices) { return choices.join(QStringLiteral(", ")); }

int editDistance(const QString& a, const QString& b) {
  std::vector<int> prev(static_cast<size_t>(b.size()) + 1), cur(prev.size());
  for (size_t j = 0; j < prev.size(); ++j) prev[j] = static_cast<int>(j);
  for (qsizetype i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (qsizetype j = 1; j <= b.size(); ++j) {
      const int substitution = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitution});
    }
    std::swap(prev, cur);
  }
  return prev.back();
}

QString lastSegment(const QString& path) { return path.section(QLatin1Char('.'), -1); }

void setIn(QJsonObject& obj, const QStringList& parts, int i, const QJsonValue& value) {
  if (i == parts.size() - 1) {
    obj.insert(parts[i], value);
    return;
  }
  QJsonObject child = obj.value(parts[i]).toObject();
  setIn(child, parts, i + 1, value);
  obj.insert(parts[i], child);
}

void flattenInto(const QJsonObject& obj, const QString& prefix, QVector<QPair<QString, QJsonValue>>& out) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const QString path = prefix.isEmpty() ? it.key() : prefix + QLatin1Char('.') + it.key();
    if (it.value().isObject() && !it.value().toObject().isEmpty())
      flattenInto(it.value().toObject(), path, out);
    else
      out.append({path, it.value()});
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The keys. Defaults follow SPEC.md; labels and help are what forms and --help show.

ConfigSchema::ConfigSchema() {
  SchemaBuilder b(keys_);
  const QStringList metricChoices = {
      QStringLiteral("recall@5"), QStringLiteral("recall@10"), QStringLiteral("recall@20"), QStringLiteral("recall@50"),
      QStringLiteral("ndcg@5"),   QStringLiteral("ndcg@10"),   QStringLiteral("ndcg@20"),   QStringLiteral("ndcg@50"),
      QStringLiteral("mrr@5"),    QStringLiteral("mrr@10"),    QStringLiteral("mrr@20"),    QStringLiteral("mrr@50")};
  const QStringList optimizers = {QStringLiteral("adam"), QStringLiteral("adamw")};

  // --- run ---
  b.page("run");
  b.text("preset", "custom",
         QStringLiteral("^(custom|%1)$").arg(presetNames().join(QLatin1Char('|'))), "Preset",
         "Name of the preset this configuration started from (informational; 'custom' when it was "
         "built from the defaults). A JSON file that names a preset is overlaid on that preset.");
  b.text("device", "auto", QStringLiteral("^(auto|cpu|cuda(:[0-9]+)?)$"), "Device",
         "Where the model runs: auto (the first CUDA GPU when there is one, else the CPU), cpu, "
         "cuda, or cuda:N for GPU number N.");
  b.integer("threads", 0, 0, 1024, "CPU threads",
            "Total CPU threads of LibTorch's and OpenBLAS's pools together (the pools multiply, so the "
            "engine splits this budget and never oversubscribes); 0 = all cores.");
  {
    ConfigKey& k = b.add("stages", Type::StringList, QJsonArray{QStringLiteral("spt")}, "Training stages",
                         "Stages run in order: spt (supervised pre-training; plain training for non-LARES "
                         "models) and rpt (GRPO reinforcement post-training, lares and hybrid only). "
                         "rpt on its own continues from the run named in rpt.from_run.");
    k.choices = {QStringLiteral("spt"), QStringLiteral("rpt")};
  }

  // --- data ---
  b.page("data");
  b.integer("data.max_len", 50, 1, 1024, "Maximum sequence length",
            "Histories are cut to their most recent max_len items and left-padded, so the newest item is "
            "always last (LARES uses 20; SASRec, ReaRec and PLR 50).");
  b.choice("data.split", "leave_one_out", {QStringLiteral("leave_one_out"), QStringLiteral("global_time")}, "Split",
           "leave_one_out: each user's last item is the test target and the second last the validation "
           "target (LARES, SASRec family). global_time: two time cuts divide the whole log into train, "
           "validation and test (ReaRec, PLR, Amazon 2023 official splits).");
  b.real("data.valid_cut", 0.8, 0, 1e13, "Validation cut",
         "global_time only: where the validation period starts. A value up to 1 is a quantile of all "
         "interaction timestamps (0.8 = the latest 20% are validation or test); a larger value is a Unix "
         "time in seconds.");
  b.real("data.test_cut", 0.9, 0, 1e13, "Test cut",
         "global_time only: where the test period starts; must come after data.valid_cut and use the same "
         "unit (a quantile up to 1, or Unix seconds).");
  b.real("data.min_rating", 3.0, -1e9, 1e9, "Minimum rating (exclusive)",
         "When the source has ratings, only interactions rated strictly above this value are kept "
         "(paper default: rating > 3).");
  b.integer("data.kcore", 5, 0, 100000, "k-core",
            "Users and items with fewer than k interactions are removed repeatedly until none is left "
            "(5-core, the Amazon protocol); 0 = off.");
  b.integer("data.min_seq_len", 3, 1, 100000, "Minimum history length",
            "After the k-core filter, users with fewer items than this are dropped (3 leaves one item each "
            "for training, validation and test).");

  // --- model ---
  b.page("model");
  b.choice("model.backbone", "sasrec",
           {QStringLiteral("sasrec"), QStringLiteral("bert4rec"), QStringLiteral("gru4rec"), QStringLiteral("fmlprec")},
           "Backbone",
           "Sequence encoder: sasrec (causal self-attention), bert4rec (bidirectional, Cloze-trained), "
           "gru4rec (recurrent) or fmlprec (learnable frequency-domain filters instead of attention).");
  b.integer("model.d", 64, 4, 8192, "Hidden size d",
            "Width of item embeddings and hidden states (64 for SASRec, LARES and plr-fast; the PLR paper "
            "uses 256). Must be divisible by model.heads.");
  b.integer("model.layers", 2, 1, 64, "Encoder layers",
            "Number of Transformer, GRU or filter layers of the backbone (default 2). LARES and hybrid use "
            "model.reasoner.pre_layers and core_layers instead.");
  b.integer("model.heads", 2, 1, 64, "Attention heads",
            "Heads of every self-attention layer (default 2); model.d must be divisible by it.");
  b.integer("model.ffn", 0, 0, 65536, "Feed-forward width",
            "Inner width of each layer's GELU feed-forward block; 0 = 4·d (LARES uses 256 at d = 64).");
  b.real("model.dropout", 0.5, 0, 0.95, "Dropout",
         "Dropout on embeddings and hidden states while training (0.5 for SASRec and LARES pre-training).");
  b.real("model.attn_dropout", 0.5, 0, 0.95, "Attention dropout",
         "Dropout on attention probabilities while training (default 0.5).");
  b.choice("model.norm", "post", {QStringLiteral("post"), QStringLiteral("pre")}, "LayerNorm placement",
           "post: LayerNorm after each residual block, as RecBole's SASRec (default); pre: LayerNorm before "
           "each sub-block, often steadier in deep stacks.")
      .advanced = true;
  b.real("model.temperature", 1.0, 1e-4, 1e4, "Logit temperature τ",
         "Scores z·Eᵀ are divided by τ before the softmax; 1 = plain dot product (ReaRec uses 0.07).");
  b.real("model.init_std", 0.02, 0, 1, "Initialisation std",
         "Standard deviation of the normal initialisation of embeddings and linear weights (default 0.02).")
      .advanced = true;
  b.real("model.mask_ratio", 0.2, 0.01, 0.95, "Mask ratio",
         "BERT4Rec Cloze training: fraction of the items of each training sequence replaced by [MASK] "
         "(default 0.2).")
      .appliesTo = {QStringLiteral("backbone:bert4rec")};

  // --- reasoner ---
  b.page("reasoner");
  b.choice("model.reasoner.kind", "none",
           {QStringLiteral("none"), QStringLiteral("erl"), QStringLiteral("prl"), QStringLiteral("lares"),
            QStringLiteral("plr"), QStringLiteral("hybrid")},
           "Reasoner",
           "What runs after the encoder: none (its last hidden state), erl or prl (ReaRec's autoregressive "
           "latent reasoning, ensemble or progressive), lares (depth-recurrent refinement of all tokens), "
           "plr (parallel latent reasoning streams) or hybrid (LARES recurrence with PLR's streams).");
  b.integer("model.reasoner.steps", 2, 1, 64, "Reasoning steps",
            "Reasoning steps T for erl, prl and plr (default 2); the mean step count k̄ for lares and "
            "hybrid (LARES uses 4).")
      .appliesTo = kAllReasoners;
  b.integer("model.reasoner.eval_steps", 0, 0, 256, "Evaluation steps",
            "Reasoning steps at evaluation; 0 = the same as model.reasoner.steps. The depth-sweep analysis "
            "overrides it.")
      .appliesTo = kAllReasoners;
  b.integer("model.reasoner.streams", 2, 1, 32, "Parallel streams M",
            "Number of reasoning streams, each started from its own learnable trigger token and run "
            "together in one batched pass (PLR default 2).")
      .appliesTo = kPlr;
  {
    ConfigKey& k = b.real("model.reasoner.trigger_std", 0.02, 0, 100, "Trigger initialisation std",
                          "Standard deviation of the normal draw that initialises the M trigger tokens τ_m "
                          "(default 0.02, the weights' init). Streams start apart only by their triggers: "
                          "on Beauty (batch 2048) 0.02 left the two streams nearly identical (D(1) ≈ 0.005, "
                          "gates 0.50/0.50), while 1 (about h₀'s size) kept them far apart but the gate "
                          "then chose one stream (0.985) and test NDCG@20 was lower (see the README).");
    k.appliesTo = kPlr;
    k.advanced = true;
  }
  b.integer("model.reasoner.pre_layers", 2, 0, 16, "Pre-block layers L1",
            "Layers of the pre-block that encodes the items once before the recurrence (LARES default 2; "
            "0 removes the pre-block, an ablation).")
      .appliesTo = kLares;
  b.integer("model.reasoner.core_layers", 2, 1, 16, "Core-block layers L2",
            "Layers of the core block applied again at every reasoning step (LARES default 2).")
      .appliesTo = kLares;
  b.choice("model.reasoner.combine", "add",
           {QStringLiteral("add"), QStringLiteral("concat"), QStringLiteral("gated")}, "Combine state and input",
           "How the previous state T and the encoded items H are merged before each core-block pass: "
           "add = (T + H)/2 (default), concat = Linear(2d → d), gated = σ(w)·T + (1 − σ(w))·H.")
      .appliesTo = kLares;
  b.choice("model.reasoner.t0_eval", "zero", {QStringLiteral("zero"), QStringLiteral("random")},
           "Initial state at evaluation",
           "The initial reasoning state T₀ at evaluation: zero keeps evaluation deterministic (default); "
           "random draws it as in training, as the LARES reference code does.")
      .appliesTo = kLares;
  {
    ConfigKey& k = b.real("model.reasoner.t0_std", 1.0, 0, 100, "Initial state std σ₁",
                          "Standard deviation of the truncated normal (cut at ±3σ₁) from which the initial "
                          "reasoning state T₀ is drawn (LARES default 1).");
    k.appliesTo = kLares;
    k.advanced = true;
  }
  {
    ConfigKey& k = b.real("model.reasoner.t0_scale", 3.0, 0, 100, "Initial state scale",
                          "Factor applied to the sampled initial state T₀ (LARES reference code: 3).");
    k.appliesTo = kLares;
    k.advanced = true;
  }
  {
    ConfigKey& k = b.choice("model.reasoner.sampler", "lognormal_poisson",
                            {QStringLiteral("lognormal_poisson"), QStringLiteral("constant"), QStringLiteral("uniform")},
                            "Step-count sampler",
                            "How the training step count k is drawn once per batch: lognormal_poisson "
                            "(k = Poisson(e^ξ) + 1 with ξ ~ N(log k̄ − σ₂²/2, σ₂²), the LARES default), "
                            "constant (always k̄) or uniform.");
    k.appliesTo = kLares;
    k.advanced = true;
  }
  {
    ConfigKey& k = b.real("model.reasoner.sampler_sigma", 0.5, 0, 5, "Sampler spread σ₂",
                          "Spread of the log-normal of the lognormal_poisson step sampler (LARES default 0.5).");
    k.appliesTo = kLares;
    k.advanced = true;
  }
  {
    ConfigKey& k = b.real("model.reasoner.max_steps_factor", 3.0, 1, 20, "Step cap factor",
                          "Sampled training step counts are capped at this factor times k̄ (LARES default 3).");
    k.appliesTo = kLares;
    k.advanced = true;
  }
  {
    ConfigKey& k = b.boolean("model.reasoner.recompute_steps", true, "Recompute steps in backward",
                             "Training keeps only each reasoning step's input and recomputes the core block "
                             "during the backward pass (same dropout masks, identical gradients): memory no "
                             "longer grows with the sampled depth, for about a third more core-block compute. "
                             "Off keeps every activation (faster, more memory).");
    k.appliesTo = kLares;
    k.advanced = true;
  }
  b.choice("model.reasoner.aggregate", "gate", {QStringLiteral("gate"), QStringLiteral("mean")}, "Stream aggregation",
           "How the streams' outputs are combined: gate = a softmax gate computed from h₀ (PLR's mixture of "
           "reasoning streams, default) or mean = a plain average (the w/o MoRS ablation).")
      .appliesTo = kPlr;
  b.boolean("model.reasoner.pool_h0", false, "Pool h₀ into the streams",
            "Off (SPEC, the PLR paper): each stream's output is the mean of its reasoning states "
            "h_1..h_T. On: h₀, the encoder's last state, joins that mean, as ReaRec's ERL pools h_0..h_T, so "
            "training scores h₀ too. An extension for studying PLR's deficit on long histories (README).")
      .appliesTo = reasoners({"plr"});
  b.choice("model.reasoner.inference", "dual", {QStringLiteral("dual"), QStringLiteral("reasoning")}, "Inference",
           "Representation used for ranking: dual = h₀ + z_rea (PLR's dual process, default) or reasoning "
           "= z_rea alone, as in training. Training never scores h₀ by itself, so compare both on a trained "
           "run: reasonrec evaluate --set model.reasoner.inference=reasoning.")
      .appliesTo = reasoners({"plr"});
  b.real("model.reasoner.rep_dropout", 0.3, 0, 0.95, "Representation dropout p_rep",
         "Dropout on hidden states in each of the two views of PLR's reasoning contrastive loss "
         "(default 0.3).")
      .appliesTo = kPlr;
  b.real("model.reasoner.attn_score_dropout", 0.3, 0, 0.95, "Attention-score dropout p_attn",
         "Dropout on attention scores in each of the two contrastive views (PLR default 0.3).")
      .appliesTo = kPlr;
  b.real("model.reasoner.input_dropout", 0.2, 0, 0.95, "Reasoning-input dropout",
         "Dropout after the LayerNorm applied to every reasoning-step input (ReaRec code: 0.2).")
      .appliesTo = reasoners({"erl", "prl"});
  b.real("model.reasoner.prl_alpha", 5.0, 1, 100, "Progressive temperature α",
         "PRL's progressive loss trains step t with temperature τ·α^(T−t), so earlier steps get softer "
         "targets (default 5).")
      .appliesTo = reasoners({"prl"});
  b.real("model.reasoner.prl_noise", 0.01, 0, 10, "Noise γ",
         "Standard deviation of the Gaussian noise added to the reasoning inputs of PRL's second, "
         "contrastive view (default 0.01).")
      .appliesTo = reasoners({"prl"});
  b.integer("model.reasoner.prl_warmup", 2, 0, 1000, "Noise warm-up epochs",
            "Epochs trained before PRL's noisy contrastive view is switched on (default 2).")
      .appliesTo = reasoners({"prl"});

  // --- SPT (plain training for non-LARES models) ---
  b.page("spt");
  b.integer("train.epochs", 200, 1, 100000, "Epochs",
            "Maximum epochs of pre-training (plain training for non-LARES models); early stopping may end "
            "it sooner (default 200).");
  b.integer("train.batch_size", 256, 1, 1048576, "Batch size",
            "Training samples per optimizer step (SASRec 256, LARES 1024, PLR 2048).");
  b.real("train.lr", 1e-3, 1e-7, 10, "Learning rate", "Optimizer step size (default 1e-3).");
  b.real("train.weight_decay", 0.0, 0, 10, "Weight decay",
         "L2 penalty for adam, decoupled weight decay for adamw; 0 = none (default).");
  b.choice("train.optimizer", "adam", optimizers, "Optimizer",
           "adam (SASRec, ReaRec, PLR; default) or adamw (decoupled weight decay; LARES).");
  b.real("train.grad_clip", 0.0, 0, 1e6, "Gradient clipping",
         "Gradients are rescaled so that their global L2 norm is at most this value before each step; "
         "0 = off (default).");
  b.integer("train.seed", 42, 0, kMaxInt32, "Seed",
            "Seed of every random draw (initialisation, shuffling, dropout, step counts); with the same seed "
            "a CPU run gives bit-identical results (default 42).");
  b.integer("train.patience", 10, 0, 100000, "Early-stopping patience",
            "Training stops after this many epochs without a better validation train.metric, keeping the "
            "best checkpoint (default 10); 0 = no early stopping.");
  b.choice("train.metric", "ndcg@10", metricChoices, "Early-stopping metric",
           "Validation metric that picks the best epoch (default NDCG@10); its K must be one of eval.ks.");
  b.choice("train.targets", "all_positions", {QStringLiteral("all_positions"), QStringLiteral("last")},
           "Training targets",
           "all_positions: one causal pass trains the next-item prediction of every prefix (per-position "
           "loss, cheaper; default); last: every prefix is its own sample and only its last position is "
           "scored (as in the LARES, ReaRec and PLR papers).");
  b.boolean("train.length_bucketing", true, "Length bucketing",
            "Batches are drawn from sequences of similar length so padding can be trimmed; the batch order "
            "is still shuffled every epoch (default on).");
  b.integer("train.log_every", 10, 1, 100000, "Loss log interval",
            "Optimizer steps between recorded loss values (default 10); validation metrics are recorded "
            "every epoch.")
      .advanced = true;
  b.real("train.tla_weight", 0.1, 0, 100, "TLA weight α",
         "Weight of LARES's trajectory-level alignment loss, an InfoNCE between the final state of a sample "
         "and of a positive sample with the same target (default 0.1; 0 = without TLA).")
      .appliesTo = kLares;
  b.real("train.sla_weight", 0.5, 0, 100, "SLA weight γ",
         "Weight of LARES's step-level alignment loss, an InfoNCE between an intermediate and the final "
         "step's state (default 0.5; 0 = without SLA).")
      .appliesTo = kLares;
  {
    ConfigKey& k = b.choice("train.tla_similarity", "dot", {QStringLiteral("dot"), QStringLiteral("cosine")},
                            "TLA similarity",
                            "Similarity inside the TLA InfoNCE: dot product (LARES default) or cosine.");
    k.appliesTo = kLares;
    k.advanced = true;
  }
  {
    ConfigKey& k = b.real("train.tla_temperature", 1.0, 1e-4, 1e4, "TLA temperature",
                          "Temperature of the TLA InfoNCE (LARES default 1). With dot products of post-LayerNorm "
                          "states (norm about √d) τ = 1 gives logits up to ±d that swamp the cross-entropy; "
                          "on synthetic data τ = 10 kept the model learning (see the README).");
    k.appliesTo = kLares;
    k.advanced = true;
  }
  {
    ConfigKey& k = b.real("train.sla_temperature", 1.0, 1e-4, 1e4, "SLA temperature",
                          "Temperature of the SLA InfoNCE (LARES default 1); see train.tla_temperature for why "
                          "10 learned better here.");
    k.appliesTo = kLares;
    k.advanced = true;
  }
  b.real("train.rcl_weight", 1.0, 0, 100, "Contrastive loss weight",
         "Weight of the reasoning contrastive loss: PLR's two-view InfoNCE over every step and stream, or "
         "PRL's noisy-view InfoNCE (default 1; 0 = without RCL).")
      .appliesTo = reasoners({"prl", "plr", "hybrid"});
  {
    ConfigKey& k = b.real("train.rcl_temperature", 1.0, 1e-4, 1e4, "Contrastive temperature",
                          "Temperature of the reasoning contrastive InfoNCE (PLR default 1).");
    k.appliesTo = reasoners({"prl", "plr", "hybrid"});
    k.advanced = true;
  }
  b.real("train.div_weight", 0.1, 0, 100, "Diversity weight λ",
         "Weight λ of the mean pairwise KL between the item distributions of different reasoning states: "
         "ERL's KL term (ReaRec 0.05) and PLR's global reasoning regularisation (default 0.1); 0 = without it.")
      .appliesTo = reasoners({"erl", "plr", "hybrid"});
  b.choice("train.div_sign", "reward", {QStringLiteral("reward"), QStringLiteral("penalty")}, "Diversity sign",
           "reward subtracts λ·(mean pairwise KL), pushing the reasoning states apart (default, as ReaRec's "
           "ERL); penalty adds it as printed in the PLR paper's Eq. 11, which pulls them together "
           "(for ablation). The reward is unbounded: with PLR at temperature 0.07 and no contrastive loss "
           "(train.rcl_weight 0) it ran away on Toys (KL 1 -> 23 in 8 epochs, validation NDCG@10 stuck at 0.007), "
           "so keep the contrastive loss on, or λ at 0, when ablating.")
      .appliesTo = reasoners({"erl", "plr", "hybrid"});

  // --- RPT (GRPO post-training; LARES and hybrid) ---
  b.page("rpt");
  const auto rpt = [&](ConfigKey& k) { k.appliesTo = kLares; };
  rpt(b.integer("rpt.epochs", 10, 1, 100000, "RPT epochs",
                "Maximum epochs of GRPO post-training; early stopping may end it sooner (default 10)."));
  rpt(b.integer("rpt.batch_size", 400, 1, 1048576, "RPT batch size",
                "Inputs per GRPO batch, each rolled out rpt.rollouts times (LARES default 400)."));
  rpt(b.real("rpt.lr", 5e-4, 1e-7, 10, "RPT learning rate", "Optimizer step size of post-training (LARES default 5e-4)."));
  rpt(b.choice("rpt.optimizer", "adamw", optimizers, "RPT optimizer",
               "Optimizer of post-training: adam or adamw (default)."));
  rpt(b.real("rpt.weight_decay", 0.0, 0, 10, "RPT weight decay",
             "Weight decay during post-training; 0 = none (default)."));
  rpt(b.real("rpt.grad_clip", 0.0, 0, 1e6, "RPT gradient clipping",
             "Global L2-norm clipping of gradients during post-training; 0 = off (default)."));
  rpt(b.integer("rpt.rollouts", 4, 2, 256, "Rollouts G",
                "Rollouts per input; rewards are normalised within each group of G to give the advantages "
                "(default 4)."));
  rpt(b.choice("rpt.reward", "ndcg@10",
               {QStringLiteral("ndcg@5"), QStringLiteral("ndcg@10"), QStringLiteral("ndcg@20"),
                QStringLiteral("recall@5"), QStringLiteral("recall@10")},
               "Reward", "Reward of a rollout: this metric of the target in the last step's full ranking "
                         "(default NDCG@10)."));
  rpt(b.real("rpt.beta", 1.0, 0, 100, "KL weight β",
             "Weight of the k3 KL estimate between the policy and the frozen pre-trained reference policy "
             "(default 1)."));
  rpt(b.choice("rpt.kl_level", "step", {QStringLiteral("step"), QStringLiteral("rollout")}, "KL level",
               "step (default): the k3 KL estimate of each reasoning step's log-probability, averaged over "
               "the rollout's steps, as GRPO takes it per token. rollout: k3 of the log-probability summed "
               "over all steps; exp() of a sum over up to 3k̄ steps overflows once the policy drifts (KL "
               "1e15 on Toys)."));
  rpt(b.choice("rpt.advantages", "positive", {QStringLiteral("positive"), QStringLiteral("group")}, "Advantages",
               "positive (default): group-normalised advantages with the negative ones set to 0, so rollouts "
               "worse than their group's mean are not pushed down. group: all of them, as SPEC §4.2 states; "
               "with the target-only policy that lowers the target's probability more than good rollouts "
               "raise it (a low probability has the larger gradient), and the mean reward falls."));
  rpt(b.real("rpt.clip_eps", 0.2, 0, 1, "Clip range ε",
             "The probability ratio is clipped to [1 − ε, 1 + ε] as in PPO (default 0.2)."));
  rpt(b.integer("rpt.updates_per_batch", 1, 1, 64, "Updates per batch",
                "Optimizer updates per rollout batch; with 1 (default, as the reference code) the ratio is "
                "always 1 and clipping never acts."));
  rpt(b.real("rpt.dropout", 0.1, 0, 0.95, "RPT dropout",
             "Dropout during post-training rollouts; with the random T₀ and step counts it makes rollouts "
             "differ (LARES default 0.1)."));
  rpt(b.integer("rpt.select_top_k", 100, 0, 1000000, "Selection top-K",
                "A training sample is kept for post-training when its target ranks in the top K in any "
                "scoring pass (default 100); 0 = keep all samples."));
  rpt(b.integer("rpt.select_passes", 3, 1, 100, "Selection passes",
                "Scoring passes over the training set (evaluation mode, random T₀) for the data selection "
                "(default 3)."));
  rpt(b.choice("rpt.policy", "target",
               {QStringLiteral("target"), QStringLiteral("hybrid"), QStringLiteral("top_ranked")},
               "Policy log-probability",
               "How a rollout's log-probability is formed: target = the sum over its steps of log p(target) "
               "(default); hybrid and top_ranked are the paper's ablations."));
  rpt(b.integer("rpt.patience", 10, 0, 100000, "RPT patience",
                "Post-training stops after this many epochs without a better validation metric (default "
                "10); 0 = no early stopping. The starting model is epoch 0: when no epoch beats it, the "
                "stage's best checkpoint is the starting model."));
  rpt(b.integer("rpt.from_run", 0, 0, kMaxInt32, "Start from run",
                "Id of the run whose best pre-training checkpoint post-training starts from, when stages is "
                "[rpt]; 0 = this run's own spt stage (default)."));

  // --- evaluation ---
  b.page("eval");
  {
    ConfigKey& k = b.add("eval.ks", Type::IntList, intArray({5, 10, 20, 50}), "Cut-offs K",
                         "Cut-offs at which Recall@K, NDCG@K and MRR@K are computed on the full ranking "
                         "(default 5, 10, 20, 50).");
    k.min = 1;
    k.max = 1000;
  }
  b.choice("eval.history_mask", "none", {QStringLiteral("none"), QStringLiteral("exclude_seen")}, "History masking",
           "none: every item is ranked, including those already in the history (LARES and ReaRec default); "
           "exclude_seen: the user's history items are left out of the ranking.");
  b.integer("eval.batch_size", 1024, 1, 1048576, "Evaluation batch size",
            "Users scored per batch in full-ranking evaluation; trades memory for speed, results do not "
            "depend on it (default 1024).");
}

const ConfigSchema& ConfigSchema::instance() {
  static const ConfigSchema schema;
  return schema;
}

const ConfigKey* ConfigSchema::find(const QString& path) const {
  for (const ConfigKey& k : keys_)
    if (k.path == path) return &k;
  return nullptr;
}

QString ConfigSchema::suggest(const QString& unknownPath) const {
  if (unknownPath.isEmpty()) return {};
  // 1. The same last segment (e.g. "steps" or "train.steps" -> "model.reasoner.steps").
  const QString tail = lastSegment(unknownPath);
  QString best;
  int bestDistance = std::numeric_limits<int>::max();
  for (const ConfigKey& k : keys_) {
    if (lastSegment(k.path) != tail) continue;
    const int dist = editDistance(unknownPath, k.path);
    if (dist < bestDistance) {
      best = k.path;
      bestDistance = dist;
    }
  }
  if (!best.isEmpty()) return best;
  // 2. The nearest full path, or failing that the nearest last segment, when reasonably near.
  const int fullTolerance = std::max(2, static_cast<int>(unknownPath.size()) / 3);
  const int tailTolerance = std::max(1, static_cast<int>(tail.size()) / 4);
  for (const ConfigKey& k : keys_) {
    const int full = editDistance(unknownPath, k.path);
    if (full <= fullTolerance && full < bestDistance) {
      best = k.path;
      bestDistance = full;
    }
    const int segment = editDistance(tail, lastSegment(k.path));
    if (segment <= tailTolerance && segment + 1 < bestDistance) {
      best = k.path;
      bestDistance = segment + 1;
    }
  }
  return best;
}

const ConfigKey& ConfigSchema::require(const QString& path) const {
  if (const ConfigKey* k = find(path)) return *k;
  for (const ConfigKey& k : keys_)
    if (k.path.startsWith(path + QLatin1Char('.')))
      throw ConfigError(path, QStringLiteral("is a section, not a value (it holds keys such as %1)").arg(k.path));
  const QString hint = suggest(path);
  throw ConfigError(path, hint.isEmpty() ? QStringLiteral("unknown key")
                                         : QStringLiteral("unknown key; did you mean %1?").arg(hint));
}

QJsonObject ConfigSchema::defaults() const {
  QJsonObject root;
  for (const ConfigKey& k : keys_) setJsonPathValue(root, k.path, k.defaultValue);
  return root;
}

QString ConfigSchema::check(const ConfigKey& key, const QJsonValue& value) const {
  switch (key.type) {
    case Type::Int:
      return checkInteger(key, value);
    case Type::Double: {
      if (!value.isDouble()) return QStringLiteral("expected a number, got %1").arg(describe(value));
      const double x = value.toDouble();
      if (!std::isfinite(x)) return QStringLiteral("expected a finite number");
      if (x < key.min || x > key.max)
        return QStringLiteral("must be between %1 and %2, got %3").arg(number(key.min), number(key.max), describe(value));
      return {};
    }
    case Type::Bool:
      return value.isBool() ? QString() : QStringLiteral("expected true or false, got %1").arg(describe(value));
    case Type::String: {
      if (!value.isString()) return QStringLiteral("expected a string, got %1").arg(describe(value));
      if (!key.pattern.isEmpty()) {
        const QRegularExpression re(key.pattern);
        if (!re.match(value.toString()).hasMatch()) {
          if (key.path == QLatin1String("preset"))
            return QStringLiteral("unknown preset %1; expected custom or one of: %2")
                .arg(describe(value), choiceList(presetNames()));
          if (key.path == QLatin1String("device"))
            return QStringLiteral("expected auto, cpu, cuda or cuda:N, got %1").arg(describe(value));
          return QStringLiteral("%1 does not match %2").arg(describe(value), key.pattern);
        }
      }
      return {};
    }
    case Type::Enum:
      if (!value.isString() || !key.choices.contains(value.toString()))
        return QStringLiteral("expected one of: %1; got %2").arg(choiceList(key.choices), describe(value));
      return {};
    case Type::IntList:
    case Type::StringList: {
      if (!value.isArray()) return QStringLiteral("expected a list, got %1").arg(describe(value));
      const QJsonArray a = value.toArray();
      if (a.isEmpty()) return QStringLiteral("must not be empty");
      QSet<QString> seen;
      for (const QJsonValue& e : a) {
        if (key.type == Type::IntList) {
          const QString why = checkInteger(key, e);
          if (!why.isEmpty()) return QStringLiteral("element %1: %2").arg(describe(e), why);
        } else {
          if (!e.isString()) return QStringLiteral("expected a list of strings, got %1").arg(describe(value));
          if (!key.choices.isEmpty() && !key.choices.contains(e.toString()))
            return QStringLiteral("element %1: expected one of: %2").arg(describe(e), choiceList(key.choices));
        }
        const QString id = describe(e);
        if (seen.contains(id)) return QStringLiteral("%1 is listed twice").arg(id);
        seen.insert(id);
      }
      return {};
    }
  }
  return QStringLiteral("unknown type");
}

QJsonValue ConfigSchema::parseText(const ConfigKey& key, const QString& rawText) const {
  const QString text = rawText.trimmed();
  const auto fail = [&](const QString& expected) -> QJsonValue {
    throw ConfigError(key.path, QStringLiteral("expected %1, got '%2'").arg(expected, rawText));
  };
  const auto parseInt = [&](const QString& t, bool* ok) -> qint64 {
    qint64 v = t.toLongLong(ok);
    if (*ok) return v;
    const double x = t.toDouble(ok);  // "1e5"
    *ok = *ok && std::isfinite(x) && std::floor(x) == x && std::abs(x) < 9.0e15;
    return *ok ? static_cast<qint64>(x) : 0;
  };
  const auto listItems = [&](QString t) {
    if (t.startsWith(QLatin1Char('[')) && t.endsWith(QLatin1Char(']'))) t = t.mid(1, t.size() - 2);
    QStringList items;
    if (t.trimmed().isEmpty()) return items;
    for (QString item : t.split(QLatin1Char(','))) {
      item = item.trimmed();
      if (item.size() >= 2 && item.startsWith(QLatin1Char('"')) && item.endsWith(QLatin1Char('"')))
        item = item.mid(1, item.size() - 2);
      items.append(item);
    }
    return items;
  };

  switch (key.type) {
    case Type::Int: {
      bool ok = false;
      const qint64 v = parseInt(text, &ok);
      return ok ? QJsonValue(v) : fail(QStringLiteral("an integer"));
    }
    case Type::Double: {
      bool ok = false;
      const double v = text.toDouble(&ok);
      return ok && std::isfinite(v) ? QJsonValue(v) : fail(QStringLiteral("a number"));
    }
    case Type::Bool: {
      const QString t = text.toLower();
      if (t == QLatin1String("true") || t == QLatin1String("1") || t == QLatin1String("yes")) return true;
      if (t == QLatin1String("false") || t == QLatin1String("0") || t == QLatin1String("no")) return false;
      return fail(QStringLiteral("true or false (also 1/0, yes/no)"));
    }
    case Type::String:
      return text;
    case Type::Enum:
      if (!key.choices.contains(text))
        throw ConfigError(key.path, QStringLiteral("expected one of: %1; got '%2'").arg(choiceList(key.choices), rawText));
      return text;
    case Type::IntList: {
      QJsonArray a;
      for (const QString& item : listItems(text)) {
        bool ok = false;
        const qint64 v = parseInt(item, &ok);
        if (!ok) return fail(QStringLiteral("a list of integers such as [5,10,20]"));
        a.append(v);
      }
      return a;
    }
    case Type::StringList: {
      QJsonArray a;
      for (const QString& item : listItems(text)) {
        if (item.isEmpty()) return fail(QStringLiteral("a comma-separated list such as spt,rpt"));
        a.append(item);
      }
      return a;
    }
  }
  return fail(QStringLiteral("a value"));
}

QString ConfigSchema::typeName(ConfigKey::Type t) {
  switch (t) {
    case Type::Int: return QStringLiteral("integer");
    case Type::Double: return QStringLiteral("number");
    case Type::Bool: return QStringLiteral("boolean");
    case Type::String: return QStringLiteral("string");
    case Type::Enum: return QStringLiteral("choice");
    case Type::IntList: return QStringLiteral("list of integers");
    case Type::StringList: return QStringLiteral("list of strings");
  }
  return QStringLiteral("value");
}

// ---------------------------------------------------------------------------------------------
// JSON path helpers

QJsonValue jsonPathValue(const QJsonObject& root, const QString& path) {
  const QStringList parts = path.split(QLatin1Char('.'));
  QJsonObject obj = root;
  for (int i = 0; i < parts.size() - 1; ++i) {
    const QJsonValue next = obj.value(parts[i]);
    if (!next.isObject()) return QJsonValue(QJsonValue::Undefined);
    obj = next.toObject();
  }
  return obj.value(parts.last());
}

void setJsonPathValue(QJsonObject& root, const QString& path, const QJsonValue& value) {
  setIn(root, path.split(QLatin1Char('.')), 0, value);
}

QVector<QPair<QString, QJsonValue>> flattenJson(const QJsonObject& root) {
  QVector<QPair<QString, QJsonValue>> out;
  flattenInto(root, QString(), out);
  return out;
}

}  // namespace rr
