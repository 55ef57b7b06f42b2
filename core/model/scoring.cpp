#include "core/model/scoring.h"

namespace rr {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

struct FullSoftmaxXent : public torch::autograd::Function<FullSoftmaxXent> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& h, const torch::Tensor& items,
                               const torch::Tensor& cls, double scale) {
    // items: [N,d] table rows 1..N; cls: [P] class index 0..N-1.
    auto p = torch::mm(h, items.t());
    if (scale != 1.0) p.mul_(scale);
    auto picked = p.gather(1, cls.unsqueeze(1)).squeeze(1);
    auto mx = std::get<0>(p.max(1, /*keepdim=*/true));
    p.sub_(mx).exp_();
    auto sum = p.sum(1, /*keepdim=*/true);
    p.div_(sum);
    auto loss = (sum.log().squeeze(1) + mx.squeeze(1) - picked).mean();
    ctx->save_for_backward({h, items, cls});
    ctx->saved_data["p"] = p;  // an intermediate, not an input: kept outside version checks
    ctx->saved_data["scale"] = scale;
    return loss;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& h = saved[0];
    const auto& items = saved[1];
    const auto& cls = saved[2];
    auto g = ctx->saved_data["p"].toTensor();  // probabilities -> dL/dlogits, in place
    const double scale = ctx->saved_data["scale"].toDouble();
    const int64_t P = g.size(0);
    auto rows = torch::arange(P, cls.options());
    g.index_put_({rows, cls}, g.index({rows, cls}) - 1.0);
    g.mul_(grads[0] * (scale / static_cast<double>(P)));
    torch::Tensor dh, dItems;
    if (h.requires_grad()) dh = torch::mm(g, items);
    if (items.requires_grad()) dItems = torch::mm(g.t(), h);
    return {dh, dItems, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor fullSoftmaxCrossEntropy(const torch::Tensor& h, const torch::Tensor& table,
                                      const torch::Tensor& targets, double scale) {
  TORCH_CHECK(h.dim() == 2 && table.dim() == 2 && h.size(1) == table.size(1),
              "fullSoftmaxCrossEntropy: shape mismatch");
  if (h.size(0) == 0) return (h.sum() + table.sum()) * 0.0;  // keeps the graph connected
  return FullSoftmaxXent::apply(h, table.narrow(0, 1, table.size(0) - 1), targets - 1, scale);
}

}  // namespace rr
