// The invoice tool: what the model calls to look up an invoice (a stand-in for a billing
// system's API, read from a JSON file).
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "cairn/ai/agent.h"
#include "cairn/errors.h"
#include "cairn/worker.h"
#include "ticket.h"

namespace support {

cairn::ai::ToolSpec invoice_tool_spec() {
  return {.name = "lookup_invoice",
          .description = "Look up an invoice by its number (INV-1234): date, amount, status, "
                         "whether it can be refunded",
          .parameters = {{"type", "object"},
                         {"properties",
                          {{"invoice_number",
                            {{"type", "string"},
                             {"description", "the invoice number, e.g. INV-2291"}}}}},
                         {"required", {"invoice_number"}}}};
}

void register_invoice_tool(cairn::Worker& worker, const std::string& invoices_path) {
  std::ifstream in(invoices_path);
  if (!in) {
    throw std::runtime_error("cannot read the invoices file " + invoices_path +
                             " (--invoices): " + std::strerror(errno));
  }
  auto invoices = std::make_shared<nlohmann::json>(nlohmann::json::parse(in));
  cairn::ai::register_tool(
      worker, invoice_tool_spec(),
      [invoices](cairn::ActivityContext&, const nlohmann::json& args) -> std::string {
        std::string number = args.value("invoice_number", std::string());
        // The model may quote the number inside a sentence: take the INV-… token.
        size_t at = number.find("INV-");
        if (at != std::string::npos) {
          size_t end = at + 4;
          while (end < number.size() && std::isdigit(static_cast<unsigned char>(number[end]))) {
            ++end;
          }
          number = number.substr(at, end - at);
        }
        auto it = invoices->find(number);
        if (it == invoices->end()) {
          return "No invoice " + number + " was found.";
        }
        const nlohmann::json& inv = *it;
        std::ostringstream text;
        text << "Invoice " << number << " of " << inv.value("date", "") << " for the "
             << inv.value("plan", "") << " plan, $" << inv.value("amount_usd", 0.0) << ", "
             << inv.value("status", "") << ". "
             << (inv.value("refundable", false) ? "It can still be refunded. "
                                                : "It can no longer be refunded. ")
             << inv.value("note", "");
        return text.str();
      });
}

}  // namespace support
