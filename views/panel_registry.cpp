#include "views/panel_registry.h"

namespace rr::views {

namespace {
QVector<PanelInfo>& registry() {
  static QVector<PanelInfo> panels;
  return panels;
}
}  // namespace

void registerPanel(PanelInfo info) {
  auto& panels = registry();
  for (auto& p : panels) {
    if (p.id == info.id) {
      p = std::move(info);
      return;
    }
  }
  panels.append(std::move(info));
}

const QVector<PanelInfo>& registeredPanels() { return registry(); }

}  // namespace rr::views
