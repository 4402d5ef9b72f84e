-- Argo CD health check for serving.mlops.dev resources (kstatus conditions).
-- Install: resource.customizations.health.serving.mlops.dev_<Kind> in argocd-cm,
-- or copy this folder into Argo CD's resource_customizations tree.
local hs = {}

local function findCondition(conditions, conditionType)
  if conditions == nil then
    return nil
  end
  for _, condition in ipairs(conditions) do
    if condition.type == conditionType then
      return condition
    end
  end
  return nil
end

local function messageOf(condition, fallback)
  if condition.message ~= nil and condition.message ~= "" then
    return condition.message
  end
  if condition.reason ~= nil and condition.reason ~= "" then
    return condition.reason
  end
  return fallback
end

if obj.status ~= nil then
  local generation = obj.metadata.generation
  local observed = obj.status.observedGeneration
  if generation ~= nil and observed ~= nil and observed < generation then
    hs.status = "Progressing"
    hs.message = "Waiting for the operator to observe the latest spec"
    return hs
  end

  -- In this order: a stalled resource is Degraded even if an older Ready is still True.
  local verdicts = {
    { "Stalled", "Degraded" },
    { "Ready", "Healthy" },
    { "Reconciling", "Progressing" },
  }
  for _, verdict in ipairs(verdicts) do
    local condition = findCondition(obj.status.conditions, verdict[1])
    if condition ~= nil and condition.status == "True" then
      hs.status = verdict[2]
      hs.message = messageOf(condition, verdict[1])
      return hs
    end
  end
end

hs.status = "Progressing"
hs.message = "Waiting for status"
return hs
