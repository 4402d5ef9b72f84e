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

  local conditions = obj.status.conditions

  local stalled = findCondition(conditions, "Stalled")
  if stalled ~= nil and stalled.status == "True" then
    hs.status = "Degraded"
    hs.message = messageOf(stalled, "Stalled")
    return hs
  end

  local ready = findCondition(conditions, "Ready")
  if ready ~= nil and ready.status == "True" then
    hs.status = "Healthy"
    hs.message = messageOf(ready, "Ready")
    return hs
  end

  local reconciling = findCondition(conditions, "Reconciling")
  if reconciling ~= nil and reconciling.status == "True" then
    hs.status = "Progressing"
    hs.message = messageOf(reconciling, "Reconciling")
    return hs
  end
end

hs.status = "Progressing"
hs.message = "Waiting for status"
return hs
